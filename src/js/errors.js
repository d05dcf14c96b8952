// OidcError lives in its own wasm-free module so that pixy-oidc/mock (which never loads the
// wasm) throws the very same class: `err instanceof OidcError` holds for both.

/** An error with a stable `code` that programs compare. */
export class OidcError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "OidcError";
    this.code = code;
    if (details.error !== undefined) this.error = details.error;
    if (details.errorDescription !== undefined) this.errorDescription = details.errorDescription;
  }
}
