// Package webhook builds hookgate's outgoing webhooks: a Definition is
// compiled once (URL, event types and their 1NCE aliases, scope, secrets,
// expr when and body, raw payload and forwarded headers) into a Webhook;
// an Event (an action's change of state, a hook received by a relay hook,
// a rejected hook or a test) is rendered by it into the body of a
// delivery, with the headers it adds (DeliveryHeaders); Request expands the
// 1NCE-style placeholders of the URL and headers and signs the delivery
// the Standard Webhooks way; Send makes one attempt through a Client whose
// dialer refuses reserved addresses (Guard); Policy says when to try
// again and when a webhook counts as failed.
//
// The package keeps nothing: storing events, deliveries and attempts and
// running the retries belongs to the engine.
package webhook
