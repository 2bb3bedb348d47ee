// Package problem collects the mistakes of a configuration, each with its
// YAML path ("links[1].amazon_address") and, where the decoder knows it,
// its line, so that validation reports every one at once (List), with
// the configured values it quotes cut short (MaxQuoted). It also holds the
// one rule for the names a user gives (site, links, targets, edge routers,
// accounts: ValidName, Names), since they become label values and URL
// parts. Every probe kind's Config.Validate and package config use it.
package problem
