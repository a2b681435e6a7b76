/** A running Controller as the dashboard's source (the local cluster's, or one the operator runs per IrisCluster). */
import type { Controller } from '../controller/controller.js';
import type { DashboardSource } from './view.js';

export function controllerSource(c: Controller): DashboardSource {
  return { status: () => c.status(), events: () => c.events, operation: () => c.state.operation, backups: () => c.backups };
}
