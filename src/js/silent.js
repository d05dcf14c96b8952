// pixy-oidc/silent: all a page needs that serves only as `silentRedirectUri`. Inside the hidden
// iframe it hands the provider's answer to the page that opened it, as importing the library
// does, without loading the library (a few hundred bytes instead of the bundle and its wasm).
//
//   <script type="module" src="/assets/pixy-oidc/silent.js"></script>
import { answerParent } from "./io.js";

answerParent();
