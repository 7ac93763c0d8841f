import type OpenAI from 'openai';

/** Azure OpenAI refuses container ids (`tools[].container`) and names longer than this. */
export const AZURE_MAX_ID_LENGTH = 64;

/**
 * Whether `client` talks to Azure OpenAI: an `AzureOpenAI` (it has `apiVersion`), or an `OpenAI`
 * pointed at an Azure endpoint (`https://<resource>.openai.azure.com/openai/v1/`). By shape, so a
 * client from another copy of `openai` is recognised too.
 */
export function isAzureClient(client: OpenAI | undefined): boolean {
  if (!client) return false;
  if (typeof (client as { apiVersion?: unknown }).apiVersion === 'string') return true;
  return /^https:\/\/[^/]+\.(openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)(\/|$)/i.test(String(client.baseURL));
}
