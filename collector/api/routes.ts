// Every HTTP route of the collector, in one place (docs/api.md lists the same).
import type { CollectorContext } from '../context.js';
import { sendCompressible, sendError, sendText } from '../http.js';
import { feedRoutes } from '../portal/feed.js';
import { mapRoutes } from '../portal/map-page.js';
import { portalRoutes } from '../portal/page.js';
import { widgetRoutes } from '../portal/widget.js';
import type { Router } from '../server.js';
import { adminRoutes } from './admin.js';
import { agentsRoutes } from './agents.js';
import { alertmanagerRoute } from './alertmanager.js';
import { alertsRoutes } from './alerts.js';
import { announcementsRoutes } from './announcements.js';
import { declarationRoutes } from './declaration.js';
import { externalReportRoutes } from './external-reports.js';
import { incidentsRoutes } from './incidents.js';
import { maintenanceRoutes } from './maintenance.js';
import { openApiRoutes } from './openapi.js';
import { operatorUpdatesRoutes } from './operator-updates.js';
import { resultsRoutes } from './results.js';
import { statusRoutes } from './status.js';
import { subscriptionsRoutes } from './subscriptions.js';
import { summaryV2Routes } from './summary-v2.js';
import { uptimeRoutes } from './uptime.js';

export function registerRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/healthz', (_req, res) => sendText(res, 200, 'ok'));
  router.get('/readyz', (_req, res) => {
    if (ctx.ready()) sendText(res, 200, 'ready');
    else sendText(res, 503, 'not ready');
  });
  // Built in slices with the event loop free in between, gzipped off it (Prometheus asks for gzip).
  router.get('/metrics', async (req, res) => {
    await sendCompressible(req, res, 200, await ctx.metrics.expositionBuffer(), ctx.metrics.contentType);
  });
  // A plain GET of the agents' endpoint: say what it is instead of a bare 404.
  router.get('/agent', (_req, res) =>
    sendError(res, 426, 'upgrade_required', 'agents connect here with a WebSocket upgrade; see docs/protocol.md', {
      headers: { Upgrade: 'websocket', Connection: 'Upgrade' },
    }),
  );
  statusRoutes(router, ctx);
  uptimeRoutes(router, ctx);
  resultsRoutes(router, ctx);
  agentsRoutes(router, ctx);
  alertsRoutes(router, ctx);
  incidentsRoutes(router, ctx);
  operatorUpdatesRoutes(router, ctx);
  announcementsRoutes(router, ctx);
  declarationRoutes(router, ctx);
  maintenanceRoutes(router, ctx);
  subscriptionsRoutes(router, ctx);
  adminRoutes(router, ctx);
  externalReportRoutes(router, ctx);
  alertmanagerRoute(router, ctx);
  summaryV2Routes(router, ctx);
  openApiRoutes(router, ctx);
  feedRoutes(router, ctx);
  portalRoutes(router, ctx);
  mapRoutes(router, ctx);
  widgetRoutes(router, ctx);
}
