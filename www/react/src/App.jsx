import { useEffect, useState } from "react";
import { RequireLogin, useOidc } from "pixy-oidc/react";

// The app lives under Vite's base (/react/); its routes are "" (home) and "profile" below it.
const BASE = import.meta.env.BASE_URL;
const HOME = BASE;
const PROFILE = `${BASE}profile`;

// A router in a dozen lines, so the demo needs nothing but React.
function usePath() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const navigate = (to) => {
    history.pushState(null, "", to);
    setPath(location.pathname);
  };
  return [path, navigate];
}

function Link({ to, path, navigate, children, ...rest }) {
  return (
    <a
      href={to}
      className={path === to ? "active" : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
      {...rest}
    >
      {children}
    </a>
  );
}

/** The other pages served next to this app (npm start serves them all on one origin). */
export function SiteNav() {
  const pages = [
    ["/", "Demo"],
    ["/react/", "React"],
    ["/vue/", "Vue"],
    ["/script-tag.html", "Script tag"],
  ];
  return (
    <nav className="site-nav" data-testid="site-nav">
      {pages.map(([href, label]) => (
        <a key={href} href={href} aria-current={href === BASE ? "page" : undefined}>
          {label}
        </a>
      ))}
    </nav>
  );
}

/** What a failed start shows (a login denied at the provider, say): no instance, so plain links. */
export function StartError({ error, retry }) {
  return (
    <>
      <SiteNav />
      <header>
        <nav>
          <a href={HOME} data-testid="nav-home">Home</a>
          <a href={PROFILE} data-testid="nav-profile">Profile</a>
        </nav>
        <div className="user-menu">
          <span data-testid="status">logged out</span>
        </div>
      </header>
      <main>
        <div className="error" data-testid="error" role="alert">
          <p>
            The login did not complete: <strong data-testid="error-code">{error.code}</strong>
            {error.error ? <> ({error.error})</> : null}
          </p>
          <p>{error.errorDescription ?? error.message}</p>
        </div>
        <p>
          <button className="primary" data-testid="retry" onClick={retry}>
            Try again
          </button>
        </p>
      </main>
    </>
  );
}

function UserMenu() {
  const { isLoggedIn, claims, login, logout } = useOidc();
  if (!isLoggedIn) {
    return (
      <div className="user-menu">
        <span data-testid="status">logged out</span>
        <button className="primary" data-testid="login" onClick={() => login({ redirectTo: location.pathname })}>
          Log in
        </button>
      </div>
    );
  }
  return (
    <div className="user-menu">
      <span data-testid="status" className="sr-only">logged in</span>
      <span data-testid="user-name">{claims.name ?? claims.preferred_username ?? claims.sub}</span>
      <button data-testid="logout" onClick={() => logout({ redirectTo: HOME })}>
        Log out
      </button>
    </div>
  );
}

function Home() {
  const { isLoggedIn, sessionExpired } = useOidc();
  return (
    <>
      <h1>Home</h1>
      <p data-testid="home">This page is public.</p>
      {sessionExpired && <p className="error">Your session has ended. Please log in again.</p>}
      <p>{isLoggedIn ? "You are logged in." : "Log in to see your profile."}</p>
    </>
  );
}

function Profile() {
  const { claims, getTokens } = useOidc();
  const [api, setApi] = useState(null);
  async function callApi() {
    try {
      const { accessToken } = await getTokens();
      const response = await fetch("/api/me", { headers: { authorization: `Bearer ${accessToken}` } });
      setApi({ status: response.status, body: await response.json() });
    } catch (error) {
      setApi({ status: 0, body: { error: error.code ?? error.message } });
    }
  }
  return (
    <section data-testid="protected">
      <h1>Profile</h1>
      <p>
        Subject: <code data-testid="sub">{claims.sub}</code>
      </p>
      <pre data-testid="claims">{JSON.stringify(claims, null, 2)}</pre>
      <button className="primary" data-testid="call-api" onClick={callApi}>
        Call /api/me
      </button>
      {api && <pre data-testid="api-result" data-status={api.status}>{JSON.stringify(api.body, null, 2)}</pre>}
    </section>
  );
}

export function App() {
  const [path, navigate] = usePath();
  return (
    <>
      <SiteNav />
      <header>
        <nav>
          <Link to={HOME} path={path} navigate={navigate} data-testid="nav-home">Home</Link>
          <Link to={PROFILE} path={path} navigate={navigate} data-testid="nav-profile">Profile</Link>
        </nav>
        <UserMenu />
      </header>
      <main>
        {path === PROFILE ? (
          <RequireLogin fallback={<p data-testid="redirecting">Redirecting to the login page…</p>}>
            <Profile />
          </RequireLogin>
        ) : (
          <Home />
        )}
      </main>
    </>
  );
}
