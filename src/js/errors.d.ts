export { OidcError } from "./index.js";
