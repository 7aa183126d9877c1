"""One customer across channels: the customer-view fold and the rules about a customer
rather than one request (repeat contact, expiring documents)."""
