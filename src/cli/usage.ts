export const USAGE: Record<string, string> = {
  main: `agenticai — let an AI assistant make and take phone calls (Twilio + OpenAI Realtime)

Usage: agenticai <command> [options]

Commands:
  server             run the server (the default command); --simulate: with a simulated carrier and model
  demo               a whole simulated call, printed as it happens (no accounts needed)
  call --to NUMBER   place an outbound call through a running server
  calls              list active calls
  show ID            show one call, active or ended, with its status history
  end ID             end a call
  status             health of a running server

Options everywhere:
  -h, --help         this help, or a command's: agenticai call --help
  -v, --version      print the version

Client commands talk to --server-url (default $AGENTICAI_SERVER_URL or http://127.0.0.1:$PORT|8080)
with the token in $AGENTICAI_API_TOKEN, and print JSON with --json.`,
  server: `Usage: agenticai server [--config FILE] [--simulate]

Runs the HTTP API and the Twilio webhooks. Configuration: --config FILE, else $AGENTICAI_CONFIG,
else ./config.yaml if present, else built-in defaults; environment variables override the file.
--simulate replaces Twilio and OpenAI with simulators on loopback: every call is answered by a
simulated callee (+15550100001 talks, …02 busy, …03 no answer, …04 hangs up, …05 interrupts,
…06 silent, …07 voicemail; any other number talks) and a simulated voice model.`,
  demo: `Usage: agenticai demo [--speed N] [--config FILE]

Starts the server with a simulated carrier and voice model on loopback, places one call through
POST /api/call, prints the conversation with per-turn latency, then a summary and the path of a
stereo WAV recording (left caller, right agent) under <data_dir>/recordings/. --speed runs the
call faster than real time (default 1).`,
  call: `Usage: agenticai call --to +15551234567 [--prompt TEXT] [--webhook-url URL] [--metadata JSON] [--json]

Places an outbound call. --webhook-url is the public base URL Twilio reaches this server at
(defaults to AGENTICAI_WEBHOOK_URL / NGROK_URL / server.public_url on the server).`,
  calls: "Usage: agenticai calls [--json]\n\nLists active calls.",
  show: "Usage: agenticai show CALL_ID [--json]\n\nShows one call with its status history.",
  end: "Usage: agenticai end CALL_ID [--json]\n\nEnds a call through Twilio (idempotent).",
  status: "Usage: agenticai status [--json]\n\nAsks a running server for its health.",
};
