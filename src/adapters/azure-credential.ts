import fs from "node:fs";
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";

/** How the bot signs in to a Microsoft Entra protected API: a client secret, a certificate, or a managed identity. */
export type AzureSignIn =
  | { kind: "secret"; secret: string }
  | { kind: "certificate"; path: string; password?: string | undefined }
  | { kind: "managed-identity" };

/**
 * The @azure/identity credential for `signIn`, for Microsoft Graph and Microsoft Sentinel alike.
 * `clientId` is the app registration's, or a user-assigned managed identity's (absent: the
 * system-assigned one); `certificateSetting` names the setting to fix when the certificate is missing.
 */
export function azureCredential(
  signIn: AzureSignIn,
  who: {
    tenantId?: string | undefined;
    clientId?: string | undefined;
    authorityHost?: string | undefined;
    certificateSetting: string;
  },
): TokenCredential {
  const authority = who.authorityHost ? { authorityHost: who.authorityHost } : {};
  const tenantId = who.tenantId ?? "";
  const clientId = who.clientId ?? "";
  switch (signIn.kind) {
    case "managed-identity":
      return clientId ? new ManagedIdentityCredential({ clientId, ...authority }) : new ManagedIdentityCredential();
    case "certificate": {
      const certificatePath = signIn.path;
      if (!fs.existsSync(certificatePath)) {
        throw new Error(
          `${who.certificateSetting}: there is no file at ${certificatePath}. Use the PEM file holding the certificate and its ` +
            "private key.",
        );
      }
      const certificate = { certificatePath, ...(signIn.password && { certificatePassword: signIn.password }) };
      return new ClientCertificateCredential(tenantId, clientId, certificate, authority);
    }
    case "secret":
      return new ClientSecretCredential(tenantId, clientId, signIn.secret, authority);
  }
}
