// The same with @hey-api/openapi-ts's generated SDK (default options), under `strict`.
import { createLabel, createCustomer, getCustomerLabels } from "./hey/sdk.gen";
import type { Label } from "./hey/types.gen";
export async function demo(): Promise<string[]> {
  const created = await createLabel({ body: { name: "Gold" } });
  const label: Label | undefined = created.data;
  await createCustomer({ body: { name: "Ada" } });
  const got = await getCustomerLabels({ path: { customerId: "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b" } });
  return [label ? label.color : "", ...(got.data?.data ?? []).map((l: Label) => l.name)];
}
