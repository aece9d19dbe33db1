// src/gatekeepers/ owns recognising what stands between the agent and a person: call screeners, hold queues and
// phone menus, from the other side's words (this file) and sound (music.ts). It imports only media/.
//
// What a finished transcript of the other side sounds like. The tables hold the usual phrasings in English,
// Spanish, German and French and their close variants; a transcript matches none of them when a person speaks.

/** What one thing the other side said is, for the agent deciding whether to answer it. */
export type Heard =
  /** Nothing worth answering: an empty transcript, music, a noise tag. */
  | "noise"
  /** A phone menu reading its options ("for billing, press 1"). */
  | "menu"
  /** An automated call screener asking who is calling and why. */
  | "screener"
  /** The screener (or a voicemail greeting) saying the person will not come on. */
  | "declined"
  /** A hold queue's words: "please hold", "your call is important to us". */
  | "hold"
  /** Sounds recorded ("thank you for calling Acme Clinic"): maybe a menu's opener. */
  | "recorded"
  | "person";

const NOISE =
  /^[\s\p{P}\p{S}]*$|^[\s\p{P}\p{S}]*((hold |soft |background )?(music|musik|música|musique)( playing| plays)?|instrumental|silence|inaudible|no speech|beep)[\s\p{P}\p{S}]*$/iu;

/** `\b` knows only ASCII letters, so "appelé" would have no end: this boundary knows every script's. */
const BOUNDARY = String.raw`(?:(?<![\p{L}\p{N}_])(?=[\p{L}\p{N}_])|(?<=[\p{L}\p{N}_])(?![\p{L}\p{N}_]))`;
const unicodeBoundaries = (source: string) => source.replaceAll(String.raw`\b`, BOUNDARY);

/** One pattern from alternatives written with `\b`, matched case-blind with Unicode word boundaries. */
const anyOf = (alternatives: string[]) => new RegExp(unicodeBoundaries(alternatives.join("|")), "iu");

const KEY = String.raw`(\d|one|two|three|four|five|six|seven|eight|nine|zero|star|pound|hash|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|cero|eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|null|un|deux|trois|quatre|cinq|sept|huit|neuf|zéro)`;

const MENU = anyOf([
  String.raw`\b(press|dial|enter|push|select)\s+${KEY}\b`,
  String.raw`\bsay\b.{0,60}\bor (press|enter)\b`,
  String.raw`\b(oprima|marque|presione|pulse)\s+(el\s+)?${KEY}\b`,
  String.raw`\b(drücken|wählen) sie( die)?( taste)?\s+${KEY}\b`,
  String.raw`\b${KEY}\s+drücken\b`,
  String.raw`\b(appuyez|tapez)( sur)?( la touche)?\s+(le\s+)?${KEY}\b`,
]);

const SCREENER = anyOf([
  String.raw`\b(state|record|say)\s+(your|the)\s+name\b`,
  String.raw`\bname\s+and\s+(the\s+)?reason\s+(for|you'?re|you are)\b`,
  String.raw`\b(name|who you are)\s+and\s+why\s+you'?r?e?\s*(are\s+)?calling\b`,
  String.raw`\b(call\s+)?screening\s+(service|calls?)\b|\bscreens?\s+(their|your|his|her)\s+calls\b`,
  String.raw`\bi'?ll see if (this person|they|he|she|the person)('?s|'?re| is| are)? (is |are )?available\b`,
  String.raw`\bthe person you('?re| are) calling (is using|uses|has)\b`,
  String.raw`\b(diga|indique|grabe) su nombre\b|\bnombre y (el )?motivo\b|\bfiltr(ado|o) de llamadas\b`,
  String.raw`\bnennen sie (bitte )?ihren namen\b|\bnamen und (den )?grund\b|\banruf(filter|prüfung)\b`,
  String.raw`\b(dites|indiquez|donnez)[- ](nous )?votre nom\b|\bnom et (le )?motif\b|\bfiltrage (des|d'?)\s*appels\b`,
]);

/** After a hint from the carrier's machine detection, a screener may be worded more loosely. */
const SCREENER_LOOSE = anyOf([String.raw`\b(name|reason|calling|nombre|motivo|namen|grund|nom|motif)\b`]);

const DECLINED = anyOf([
  String.raw`\b(is|are|'?s|'?re) (not|un)available\b|\bnot available\b|\bunavailable\b`,
  String.raw`\b(can'?t|cannot|could not|couldn'?t) (take|come to|answer) (the|your) (call|phone)\b`,
  String.raw`\bleave (a|your) (message|name and number)\b|\bafter the (tone|beep)\b|\bdeclined\b`,
  String.raw`\bno (está|esta|se encuentra) disponible\b|\bdeje (un|su) mensaje\b|\bdespués del tono\b`,
  String.raw`\bnicht (erreichbar|verfügbar)\b|\bhinterlassen sie\b|\bnach dem (signalton|ton)\b`,
  String.raw`\bpas disponible\b|\blaissez[- ](un|votre) message\b|\baprès le bip\b`,
]);

const HOLD = anyOf([
  String.raw`\bplease (hold|wait)\b|\b(stay|remain) on the line\b|\bcontinue to hold\b|\bhold (the line|on)\b`,
  String.raw`\ball (of )?our (agents|representatives|staff|operators|lines|team members)\b`,
  String.raw`\b(agents|representatives|operators) are (currently )?(busy|assisting|helping|on other calls)\b`,
  String.raw`\byour call is (very )?important\b|\bestimated (wait|hold) time\b|\bnext available\b`,
  String.raw`\b(calls?|you) will be (answered|connected) in the order\b|\bthank you for (your patience|holding|waiting)\b`,
  String.raw`\bpor favor espere\b|\bpermanezca en (la )?línea\b|\btodos nuestros (agentes|asesores|operadores)\b`,
  String.raw`\bsu llamada es (muy )?importante\b|\btiempo (estimado )?de espera\b`,
  String.raw`\bbitte (warten|bleiben sie)\b|\bbleiben sie (bitte )?(in der leitung|dran)\b|\balle (unsere )?(mitarbeiter|leitungen)\b`,
  String.raw`\bihr anruf ist (uns )?wichtig\b|\bwartezeit\b`,
  String.raw`\bveuillez patienter\b|\brestez en ligne\b|\btous nos (conseillers|agents|opérateurs)\b|\bvotre appel est important\b|\btemps d'?attente\b`,
]);

/** What a person who has just picked up says, and a recording does not. */
const PERSON = anyOf([
  String.raw`\bhow (can|may) i (help|assist)\b|\bwhat can i do for you\b|\bsorry (for|about) (the|your) wait\b`,
  String.raw`\bthis is (?!(a|an|the|your|our|not|to|it)\b)\p{L}+( \p{L}+)?,? (from|at|with|speaking|here)\b`,
  String.raw`\ben qué (le |te )?puedo (ayudar|servir)\b|\bwie kann ich (ihnen )?helfen\b|\bcomment puis-je vous aider\b`,
]);

const RECORDED = anyOf([
  String.raw`\bthank(s| you) for calling\b|\bwelcome to\b|\byou('?ve| have) reached\b`,
  String.raw`\b(this|your) call (may|will) be (recorded|monitored)\b|\b(our|office|business) hours\b`,
  String.raw`\bif you know your party'?s extension\b|\bpara español\b|\bfor english\b`,
  String.raw`\bgracias por (llamar|comunicarse)\b|\bbienvenido a\b|\bha (llamado|comunicado) a\b`,
  String.raw`\bvielen dank für ihren anruf\b|\bwillkommen bei\b|\bsie sind verbunden mit\b`,
  String.raw`\bmerci (d'?avoir appelé|de votre appel)\b|\bbienvenue (à|chez)\b|\bvous êtes bien\b`,
]);

/**
 * What the transcript is, most specific first: a menu's options outrank everything (a menu may thank you for
 * calling and ask you to hold), a screener outranks a decline (its prompt may mention leaving a message), and a
 * person's own words outrank the hold and recording phrases they may use ("thanks for holding, this is Sam here").
 */
export function classify(text: string, screenerHint = false): Heard {
  if (NOISE.test(text)) return "noise";
  if (MENU.test(text)) return "menu";
  if (SCREENER.test(text)) return "screener";
  if (DECLINED.test(text)) return "declined";
  if (PERSON.test(text)) return "person";
  if (HOLD.test(text)) return "hold";
  if (RECORDED.test(text)) return "recorded";
  if (screenerHint && SCREENER_LOOSE.test(text)) return "screener";
  return "person";
}

/**
 * Whether a transcript could be a hold's or a menu's words, by their pattern alone: a person on the line is listened
 * to only for those, so most of what a person says is tested against two patterns, not all of classify's.
 */
export const mayBeHold = (text: string): boolean => HOLD.test(text);
export const mayBeMenu = (text: string): boolean => MENU.test(text);

export interface MenuOption {
  key: string;
  /** What the option is for, as the menu said it ("billing"); empty when it gave only the key. */
  label: string;
}

const DIGITS: Record<string, string> = {
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  zero: "0",
  star: "*",
  pound: "#",
  hash: "#",
  uno: "1",
  dos: "2",
  tres: "3",
  cuatro: "4",
  cinco: "5",
  seis: "6",
  siete: "7",
  ocho: "8",
  nueve: "9",
  cero: "0",
  eins: "1",
  zwei: "2",
  drei: "3",
  vier: "4",
  fünf: "5",
  sechs: "6",
  sieben: "7",
  acht: "8",
  neun: "9",
  null: "0",
  un: "1",
  deux: "2",
  trois: "3",
  quatre: "4",
  cinq: "5",
  sept: "7",
  huit: "8",
  neuf: "9",
  zéro: "0",
};

const PRESS =
  "(?:press|dial|enter|push|select|oprima|marque|presione|pulse|drücken sie(?: die)?(?: taste)?|appuyez sur(?: la touche)?|tapez(?: le)?)";
const LABEL_FIRST = new RegExp(
  unicodeBoundaries(String.raw`\b(?:for|to|para|für|pour)\s+([^,.;]{1,60}?),?\s+${PRESS}\s+${KEY}\b`),
  "giu",
);
const KEY_FIRST = new RegExp(
  unicodeBoundaries(String.raw`\b${PRESS}\s+${KEY}\s+(?:for|to|para|für|pour)\s+([^,.;]{1,60})`),
  "giu",
);

/** The options a menu's words offer, in the order heard, each key once. */
export function menuOptions(text: string): MenuOption[] {
  const found = new Map<string, { at: number; label: string }>();
  const add = (rawKey: string, label: string, at: number) => {
    const key = DIGITS[rawKey.toLowerCase()] ?? rawKey;
    if (!found.has(key)) found.set(key, { at, label: label.trim() });
  };
  for (const m of text.matchAll(LABEL_FIRST)) add(m[2]!, m[1]!, m.index);
  for (const m of text.matchAll(KEY_FIRST)) add(m[1]!, m[2]!, m.index);
  return [...found.entries()].sort((a, b) => a[1].at - b[1].at).map(([key, { label }]) => ({ key, label }));
}

/** Two readings of a menu are the same menu when they offer the same keys for the same things. */
export const menuSignature = (options: MenuOption[]): string =>
  options.map((o) => `${o.key}=${o.label.toLowerCase()}`).join("|");
