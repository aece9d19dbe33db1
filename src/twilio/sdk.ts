// The twilio SDK takes ~140 ms to import; load it on first use (or just after the socket listens)
// so that start-up and /health never wait for it. The runtime caches the module after the first import.
export const loadTwilio = () => import("twilio").then((m) => m.default);
