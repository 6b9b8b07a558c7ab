// The same with orval's fetch client (its base URL from the document's `servers`), under `strict`.
import { createLabel, createCustomer, getCustomerLabels } from "./orv/api";
import type { Label } from "./orv/api";
export async function demo(): Promise<string[]> {
  const created = await createLabel({ name: "Gold" });
  const color: string = created.status === 201 ? (created.data as Label).color : "";
  await createCustomer({ name: "Ada" });
  const got = await getCustomerLabels("3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b");
  return [color, String(got.status)];
}
