// A small strict client, as a frontend would write it with openapi-fetch on the types
// openapi-typescript generated (default options) from /openapi.json. It must compile
// under `strict`: optional request fields stay optional, answers are typed as sent.
import createClient from "openapi-fetch";
import type { paths, components } from "./api";

type Label = components["schemas"]["Label"];

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:5000", headers: { Authorization: "Bearer dev-admin" } });

export async function demo(): Promise<string[]> {
  // A label and a customer from a name alone.
  const created = await client.POST("/labels/labels", { body: { name: "Gold" } });
  if (created.data) {
    const label: Label = created.data;
    const color: string = label.color;
    const description: string | null = label.description;
    void color, description;
  }
  const location: string = created.response.headers.get("Location") ?? "";
  await client.POST("/customers/customers", { body: { name: "Ada" } });
  const customerId = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b";
  const attached = await client.POST("/customers/customers/{customerId}/labels", {
    params: { path: { customerId } },
    body: { labels: ["vip"] },
  });
  if (attached.error) {
    const status: number = attached.error.status;
    const detail: string = attached.error.detail;
    return [String(status), detail, location];
  }
  const page = await client.GET("/labels/labels", { params: { query: { limit: 10 } } });
  const next: string | null = page.data ? page.data.nextCursor : null;
  const document = await client.GET("/openapi.json");
  const version: string = document.data ? document.data.openapi : "";
  const names: string[] = (attached.data?.data ?? []).map((label: Label) => label.name);
  return [...names, next ?? "", version];
}
