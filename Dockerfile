# One image for the collector and the agent: `docker run vagt collector …` or `docker run vagt agent …`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config/*.yaml ./config/
COPY --from=build /app/config/examples ./config/examples
RUN mkdir -p /var/lib/vagt && chown node:node /var/lib/vagt
USER node
EXPOSE 9400
VOLUME ["/var/lib/vagt"]
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:9400/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["collector", "--config", "/etc/vagt/vagt.yaml", "--listen", "0.0.0.0:9400", "--data-dir", "/var/lib/vagt"]
