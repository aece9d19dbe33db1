// The twilio SDK is slow to import (bench/RESULTS.md); load it on first use (or soon after start-up, see cli/serve.ts)
// so that start-up and /health never wait for it. The runtime caches the module after the first import.
export const loadTwilio = () => import("twilio").then((m) => m.default);
