import { createApp } from "vue";
import { createRouter, createWebHistory } from "vue-router";
import { createLoginGuard, createOidcPlugin } from "pixy-oidc/vue";
import App from "./App.vue";
import Home from "./pages/Home.vue";
import Profile from "./pages/Profile.vue";

// One fixed redirect URI for every page: register `${origin}/` at the provider.
const oidc = createOidcPlugin({
  ...window.PIXY_CONFIG,
  redirectUri: `${location.origin}/`,
  postLogoutRedirectUri: `${location.origin}/`,
});

const app = createApp(App).use(oidc);

// vue-router's history reads the URL when it is created: create it once the login callback has
// been handled and its parameters replaced by the page the login came from. On failure the app
// still starts and shows the error.
oidc.ready.finally(() => {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: "/", component: Home },
      { path: "/profile", component: Profile, meta: { requiresLogin: true } },
    ],
  });
  router.beforeEach(createLoginGuard(oidc, { router }));
  app.use(router).mount("#app");
});
