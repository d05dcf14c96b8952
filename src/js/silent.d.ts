/** pixy-oidc/silent: the script of a page used only as `silentRedirectUri`; it exports nothing. */
export {};
