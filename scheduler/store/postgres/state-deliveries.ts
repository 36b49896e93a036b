/**
 * Deliveries on PostgreSQL: the DeliveryStore interface (delivery/store.ts) over the
 * `deliveries` table, one row per execution holding the delivery record as the file store's
 * `deliveries/<id>.json` holds it. put() resolves after its COMMIT, before the attempt it announces.
 *
 * A row that is not a delivery (edited by hand) is not loaded and is named in `quarantined`
 * (`deliveries-<execution id>`), as the file is; the row is left where it is, for the operator.
 */
import { assertExecutionId } from '../../../common/names.js';
import { isStoredDelivery, type DeliveryStore } from '../../delivery/store.js';
import type { Delivery } from '../../delivery/types.js';
import type { StateDatabase } from './state-db.js';

export function createPostgresDeliveryStore(db: StateDatabase): DeliveryStore {
  return {
    async load() {
      const rows = await db.query<{ execution_id: string; delivery: unknown }>('SELECT execution_id, delivery FROM deliveries ORDER BY execution_id');
      const deliveries: Delivery[] = [];
      const quarantined: string[] = [];
      for (const r of rows) {
        const d = r.delivery;
        if (isStoredDelivery(d) && d.executionId === r.execution_id) {
          // Never stored as delivering, but a row from a newer writer could say so: due again.
          deliveries.push(d.status === 'delivering' ? { ...d, status: 'pending' } : d);
        } else quarantined.push(`deliveries-${r.execution_id.slice(0, 100)}`);
      }
      return { deliveries, quarantined };
    },
    async put(d) {
      assertExecutionId(d.executionId);
      await db.query(
        'INSERT INTO deliveries (execution_id, status, delivery) VALUES ($1, $2, $3::json) ' +
          'ON CONFLICT (execution_id) DO UPDATE SET status = EXCLUDED.status, delivery = EXCLUDED.delivery',
        [d.executionId, d.status, JSON.stringify(d)],
      );
    },
    async delete(executionId) {
      assertExecutionId(executionId);
      await db.query('DELETE FROM deliveries WHERE execution_id = $1', [executionId]);
    },
  };
}
