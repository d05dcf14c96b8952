import { createApp } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import { createLoginGuard, createOidcPlugin } from "pixy-oidc/vue";
import App from "./App.vue";
import Home from "./pages/Home.vue";
import Profile from "./pages/Profile.vue";

// One fixed redirect URI for every page of the app: register `${origin}/vue/` at the provider.
const appUrl = `${location.origin}${import.meta.env.BASE_URL}`;
const oidc = createOidcPlugin({ ...window.PIXY_CONFIG, redirectUri: appUrl, postLogoutRedirectUri: appUrl });

const app = createApp(App).use(oidc);

// vue-router's history reads the URL when it is created: create it once the login callback has
// been handled and its parameters replaced by the page the login came from. A failed start (a
// login denied at the provider, say) rejects `ready`: the app starts anyway and shows `error`.
oidc.ready
  .catch(() => {})
  .then(() => {
    const router = createRouter({
      history: createWebHistory(import.meta.env.BASE_URL),
      routes: [
        { path: "/", component: Home },
        { path: "/profile", component: Profile, meta: { requiresLogin: true } },
      ],
    });
    router.beforeEach(createLoginGuard(oidc, { router }));
    app.use(router).mount("#app");
  });
