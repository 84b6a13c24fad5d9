"""The Kubernaut incident API (facade over shared.investigation): durable sessions in the tables."""
