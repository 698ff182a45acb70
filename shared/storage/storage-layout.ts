/**
 * Table and queue names, read from the same file the infrastructure deploys (infra/storage-layout.json), so the
 * code and the deployed resources cannot drift apart.
 */
import layout from "../../infra/storage-layout.json";

export const TABLE_NAMES = Object.freeze({ ...layout.tables });
export const QUEUE_NAMES = Object.freeze({ ...layout.queues });
