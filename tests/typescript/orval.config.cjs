// orval, generating a fetch client whose base URL is the document's server.
module.exports = {
  labels: {
    input: "openapi.json",
    output: { target: "orv/api.ts", client: "fetch", baseUrl: { getBaseUrlFromSpecification: true } },
  },
};
