package api

// oneNCEPrefix is where the 1NCE Cloud Integrator's management API keeps
// its webhook integrations (SPEC 12.1).
const oneNCEPrefix = "/management-api/v1/integrate/clouds"

// oneNCERoutes are the routes of 1NCE's API, as its docs' curl examples
// call them: the same webhooks, objects and answers as /webhooks, at 1NCE's
// paths. Mounted at the root of an API host of its own, a 1NCE curl line
// works as written, with the host changed.
func (h *APIHandler) oneNCERoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"GET " + oneNCEPrefix:                             h.listWebhooks,
		"POST " + oneNCEPrefix + "/webhooks":              h.createWebhook,
		"GET " + oneNCEPrefix + "/webhooks/{id}":          h.getWebhook,
		"PATCH " + oneNCEPrefix + "/webhooks/{id}":        h.patchWebhook,
		"DELETE " + oneNCEPrefix + "/webhooks/{id}":       h.deleteWebhook,
		"POST " + oneNCEPrefix + "/webhooks/{id}/test":    h.testWebhook,
		"POST " + oneNCEPrefix + "/webhooks/{id}/restart": h.restartWebhook,
	}
}
