package api

// dashboardRoutes are the routes the dashboard needs beside the others
// (SPEC 8): the request log, the stats, the event catalog and bulk
// redelivery.
func (h *APIHandler) dashboardRoutes() map[string]apiFunc {
	return map[string]apiFunc{
		"GET /requests":                        h.listRequests,
		"GET /stats":                           h.getStats,
		"GET /events":                          h.listEvents,
		"POST /webhooks/{id}/deliveries/retry": h.retryDeliveries,
	}
}
