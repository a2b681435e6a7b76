/** Request headers the node's HTTP API expects from the tests' clients. */

/** POST bodies are JSON (the node refuses other POST bodies, which web pages could send cross-site). */
export const jsonPost = (method: string, headers?: Record<string, string>): Record<string, string> | undefined =>
  method === 'POST' ? { 'content-type': 'application/json', ...headers } : headers;
