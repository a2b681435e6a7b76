/**
 * GET /admin/tls (admin token, mounted under /admin): the CA bundle the
 * node trusts and the certificate it serves, from the files on disk as of
 * this request (they are re-read first, as before a handshake), so the
 * operator can tell when a pod's refreshed Secret volume has reached the
 * node (docs/security.md "CA rotation").
 */
import express, { type Router } from 'express';
import type { TlsMaterial } from './material.js';
import { tlsReport } from './tls-report.js';

export function tlsAdminRouter(material: TlsMaterial | null): Router {
  const router = express.Router();
  router.get('/tls', (_req, res) => {
    material?.refresh();
    res.json(tlsReport(material === null ? null : material.pem));
  });
  return router;
}
