/**
 * Redis keys of the webhook registry, beside run control's under `<prefix>:_tf` (shared/runtime/runs/keys.ts):
 * `_tf` is no queue name, so they never meet BullMQ's.
 */
export function webhookKeys(prefix: string) {
  const base = `${prefix}:_tf`;
  return {
    /** hash webhook id → Webhook JSON (with its secret) */
    webhooks: `${base}:webhooks`,
    /** list per webhook, newest first: DeliveryAttempt JSON, capped */
    deliveries: (webhookId: string) => `${base}:webhook-deliveries:${webhookId}`,
  };
}

export type WebhookKeys = ReturnType<typeof webhookKeys>;
