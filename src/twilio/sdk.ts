// The twilio SDK takes 50–150 ms to import; load it on first use (or soon after start-up, see main.ts)
// so that start-up and /health never wait for it. The runtime caches the module after the first import.
export const loadTwilio = () => import("twilio").then((m) => m.default);
