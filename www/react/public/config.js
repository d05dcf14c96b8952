// The provider this app uses. The test server and deployments replace this file; the default is
// the local provider of `node tests/support/provider.mjs` (client "pixy-demo", app on :5173).
window.PIXY_CONFIG = window.PIXY_CONFIG || { issuer: "http://127.0.0.1:9090", clientId: "pixy-demo" };
