// Type-checks pixy-oidc/vue with vue and vue-router (strict).
import { createApp, defineComponent, h, type ComputedRef } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import type { Oidc } from "pixy-oidc";
import { createLoginGuard, createOidcPlugin, oidcKey, useOidc, type OidcPlugin } from "pixy-oidc/vue";
import { createMockOidc } from "pixy-oidc/mock";

const plugin: OidcPlugin = createOidcPlugin({ issuer: "https://idp.example.com", clientId: "spa" });
createOidcPlugin(createMockOidc());
createOidcPlugin(Promise.resolve(createMockOidc()));

const Profile = defineComponent({
  setup() {
    const { isLoggedIn, claims, getTokens, login } = useOidc();
    const flag: ComputedRef<boolean> = isLoggedIn;
    return () =>
      flag.value
        ? h("p", String(claims.value?.sub))
        : h("button", { onClick: () => login({ redirectTo: "/p" }) }, "Log in");
  },
});

export async function start(): Promise<void> {
  const app = createApp(Profile).use(plugin);
  const oidc: Oidc = await plugin.ready;
  console.log(oidc.isLoggedIn, app.runWithContext(() => useOidc().isReady.value));
  const router = createRouter({
    history: createWebHistory(),
    routes: [{ path: "/p", component: Profile, meta: { requiresLogin: true } }],
  });
  router.beforeEach(createLoginGuard(plugin, { router }));
  router.beforeEach(createLoginGuard(plugin, { isProtected: (to) => to.fullPath.startsWith("/admin") }));
  app.use(router).mount("#app");
  console.log(oidcKey.description);
  const response: Response = await plugin.fetch("/api/orders", { headers: { accept: "application/json" } });
  const proof: string = await app.runWithContext(() => useOidc().createDPoPProof({ method: "GET", url: "/api/orders" }));
  console.log(response.status, proof);
}

// @ts-expect-error a config needs a clientId
createOidcPlugin({ issuer: "https://idp.example.com" });

// Idle countdown, logout reason, popup login, activity.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const IdleBanner = defineComponent({
  setup() {
    const { idleMsLeft, logoutReason, loginWithPopup, login, reportActivity } = useOidc();
    const left: ComputedRef<number | null> = idleMsLeft;
    const reason: ComputedRef<"user" | "otherTab" | "idle" | "provider" | null> = logoutReason;
    const viaPopup = () => login({ popup: true });
    const popupIsVoid: Equal<ReturnType<typeof viaPopup>, Promise<void>> = true;
    const redirect = () => login();
    const redirectIsNever: Equal<ReturnType<typeof redirect>, Promise<never>> = true;
    console.log(popupIsVoid, redirectIsNever);
    const onClick = async () => {
      try {
        const done: void = await loginWithPopup({ extraAuthParams: { prompt: "login" } });
        console.log(done);
      } catch (e) {
        console.log(e);
      }
    };
    return () =>
      h("div", [
        left.value !== null ? h("p", `Logging out in ${Math.ceil(left.value / 1000)} s`) : null,
        reason.value === "idle" ? h("button", { onClick }, "Log in again") : null,
        h("video", { onTimeupdate: () => reportActivity() }),
      ]);
  },
});
// @ts-expect-error the guard never opens a popup by itself
createLoginGuard(plugin, { loginOptions: { popup: true } });
