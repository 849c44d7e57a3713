import { ActivityTypes, type Activity, type InvokeResponse, type Middleware, type TurnContext } from "botbuilder";
import type { Logger } from "../log";

export type TenantCheck = { ok: true; tenantId: string } | { ok: false; reason: string; tenantId?: string };

/**
 * The Microsoft Entra tenant an activity comes from. Teams puts it in both channelData.tenant.id and
 * conversation.tenantId; when both are there they must agree.
 */
export function tenantOf(activity: Partial<Pick<Activity, "channelData" | "conversation">>): TenantCheck {
  const data = activity.channelData as { tenant?: { id?: unknown } } | undefined;
  const found = [data?.tenant?.id, activity.conversation?.tenantId]
    .filter((v): v is string => typeof v === "string" && v.trim() !== "")
    .map((v) => v.trim().toLowerCase());
  if (found.length === 0) return { ok: false, reason: "the activity names no tenant" };
  if (found.some((t) => t !== found[0]))
    return { ok: false, reason: "channelData and conversation name different tenants", tenantId: found[0] };
  return { ok: true, tenantId: found[0]! };
}

const FORBIDDEN: InvokeResponse = {
  status: 403,
  body: {
    statusCode: 403,
    type: "application/vnd.microsoft.error",
    value: { code: "Forbidden", message: "This bot is not available to your organisation. Nothing was saved." },
  },
};

/**
 * Botbuilder middleware, so it runs after the request's token was validated: activities from a
 * tenant that is not on the allow-list go no further. An invoke gets a 403 error answer; anything
 * else is dropped with a log line (answering would mean posting into that tenant's conversation).
 * An empty list allows every tenant.
 */
export class TenantGuard implements Middleware {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    allowedTenantIds: readonly string[],
    private readonly log: Logger,
  ) {
    this.allowed = new Set(allowedTenantIds.map((t) => t.trim().toLowerCase()).filter(Boolean));
  }

  get allowsEveryTenant(): boolean {
    return this.allowed.size === 0;
  }

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    if (this.allowsEveryTenant) return next();
    const tenant = tenantOf(context.activity);
    if (tenant.ok && this.allowed.has(tenant.tenantId)) return next();
    const { activity } = context;
    this.log.warn(
      {
        tenantId: tenant.tenantId?.slice(0, 100),
        reason: tenant.ok ? "tenant not on ALLOWED_TENANT_IDS" : tenant.reason,
        activityType: String(activity.type).slice(0, 60),
        invoke: typeof activity.name === "string" ? activity.name.slice(0, 60) : undefined,
      },
      "activity refused: its tenant is not allowed; nothing was processed or stored",
    );
    if (activity.type === "invoke") {
      await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: FORBIDDEN });
    }
  }
}
