// The Gemini Live API's messages (BidiGenerateContent over a WebSocket), as far as this server speaks them: only
// documented fields, since the server closes the socket (1007) on a field it does not know.

export interface GeminiPart {
  text?: string;
  inlineData?: { mimeType: string; data: string };
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** The parameters as JSON Schema (our tool registry's), rather than the OpenAPI subset of `parameters`. */
  parametersJsonSchema?: unknown;
}

export interface GeminiActivityDetection {
  disabled?: boolean;
  startOfSpeechSensitivity?: "START_SENSITIVITY_HIGH" | "START_SENSITIVITY_LOW";
  endOfSpeechSensitivity?: "END_SENSITIVITY_HIGH" | "END_SENSITIVITY_LOW";
  prefixPaddingMs?: number;
  silenceDurationMs?: number;
}

export interface GeminiSetup {
  model: string;
  generationConfig: {
    responseModalities: ["AUDIO"];
    speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: string } } };
  };
  systemInstruction: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  realtimeInputConfig?: {
    automaticActivityDetection?: GeminiActivityDetection;
    activityHandling?: "START_OF_ACTIVITY_INTERRUPTS" | "NO_INTERRUPTION";
  };
  inputAudioTranscription: Record<string, never>;
  outputAudioTranscription: Record<string, never>;
  sessionResumption: { handle?: string };
  contextWindowCompression: { slidingWindow: Record<string, never> };
}

export interface GeminiFunctionResponse {
  id: string;
  name: string;
  response: Record<string, unknown>;
}

export type GeminiClientMessage =
  | { setup: GeminiSetup }
  | { realtimeInput: { audio: { data: string; mimeType: string } } | { text: string } }
  /** Earlier turns put into the conversation without asking for a reply (a call resumed on a new session). */
  | { clientContent: { turns: { role: "user" | "model"; parts: { text: string }[] }[]; turnComplete: boolean } }
  | { toolResponse: { functionResponses: GeminiFunctionResponse[] } };

export interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  responseTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: { modality?: string; tokenCount?: number }[];
  cacheTokensDetails?: { modality?: string; tokenCount?: number }[];
  responseTokensDetails?: { modality?: string; tokenCount?: number }[];
}

export interface GeminiServerContent {
  modelTurn?: { parts?: GeminiPart[] };
  interrupted?: boolean;
  turnComplete?: boolean;
  generationComplete?: boolean;
  inputTranscription?: { text?: string };
  outputTranscription?: { text?: string };
}

export interface GeminiServerMessage {
  setupComplete?: Record<string, unknown>;
  serverContent?: GeminiServerContent;
  toolCall?: { functionCalls?: { id?: string; name?: string; args?: Record<string, unknown> }[] };
  toolCallCancellation?: { ids?: string[] };
  goAway?: { timeLeft?: string };
  sessionResumptionUpdate?: { newHandle?: string; resumable?: boolean };
  usageMetadata?: GeminiUsage;
}
