import HealthCore

extension CheckSpec {
    /// Applies the defaults (probe descriptor, hive.toml, built-in) and checks the settings against each other.
    ///
    /// Returns the check with the origin of every setting, or the errors that keep it from running.
    func resolve(config: HealthConfig) -> Result<EffectiveCheck, ResolveErrors> {
        var provenance: [String: String] = [:]
        var errors: [CatalogueError] = []
        func origin<Value>(_ located: Located<Value>?, _ key: String, otherwise: String) {
            provenance[key] = located?.location.description ?? otherwise
        }

        provenance["name"] = name.location.description
        provenance["probe"] = probeLocation?.description ?? name.location.description
        let category = category?.value ?? descriptor.category
        origin(self.category, "category", otherwise: "default")
        let target = targetKind
        origin(self.target, "target", otherwise: "default")

        let interval = self.interval?.value ?? config.checkInterval
        origin(self.interval, "interval", otherwise: config.provenance(ofKey: "health.check_interval"))

        var timeout: Duration
        if let written = self.timeout {
            timeout = written.value
            provenance["timeout"] = written.location.description
            if timeout >= interval {
                errors.append(CatalogueError(
                    written.location, key: written.key,
                    message: "timeout \(HealthDuration.format(timeout)) must be less than the interval "
                        + "\(HealthDuration.format(interval))"))
            }
        } else {
            timeout = config.timeout(for: descriptor.timeoutClass)
            provenance["timeout"] =
                HealthConfig.timeoutKey(for: descriptor.timeoutClass).map { config.provenance(ofKey: $0) } ?? "default"
            if timeout >= interval {
                // A default must never make a check invalid: keep the run well inside its interval.
                timeout = interval * 4 / 5
                provenance["timeout"] = "default (80% of the interval)"
            }
        }

        let splay = self.splay?.value ?? interval
        origin(self.splay, "splay", otherwise: "default")
        let jitter = self.jitter?.value ?? .zero
        origin(self.jitter, "jitter", otherwise: "default")
        if let jitterSetting = self.jitter, jitterSetting.value >= interval {
            errors.append(CatalogueError(
                jitterSetting.location, key: jitterSetting.key,
                message: "jitter \(HealthDuration.format(jitterSetting.value)) must be less than the interval "
                    + "\(HealthDuration.format(interval))"))
        }

        let defaults = config.thresholds
        let thresholds = Thresholds(
            consecutiveFailures: self.consecutiveFailures?.value ?? defaults.consecutiveFailures,
            consecutiveSuccesses: self.consecutiveSuccesses?.value ?? defaults.consecutiveSuccesses,
            flapHigh: self.flapHigh?.value ?? defaults.flapHigh,
            flapLow: self.flapLow?.value ?? defaults.flapLow)
        origin(self.consecutiveFailures, "thresholds.consecutive_failures",
               otherwise: config.provenance(ofKey: "health.thresholds.consecutive_failures"))
        origin(self.consecutiveSuccesses, "thresholds.consecutive_successes",
               otherwise: config.provenance(ofKey: "health.thresholds.consecutive_successes"))
        origin(
            self.flapHigh, "thresholds.flap_high", otherwise: config.provenance(ofKey: "health.thresholds.flap_high"))
        origin(self.flapLow, "thresholds.flap_low", otherwise: config.provenance(ofKey: "health.thresholds.flap_low"))
        if thresholds.flapLow >= thresholds.flapHigh, let blame = self.flapLow ?? self.flapHigh {
            errors.append(CatalogueError(
                blame.location, key: blame.key,
                message: "flap_low (\(thresholds.flapLow)) must be less than flap_high (\(thresholds.flapHigh))"))
        }

        var params: [String: ParameterValue] = [:]
        for parameter in descriptor.parameters {
            if let written = self.params[parameter.name] {
                params[parameter.name] = written.value
                provenance["params.\(parameter.name)"] = written.location.description
            } else if let value = parameter.defaultValue {
                params[parameter.name] = value
                provenance["params.\(parameter.name)"] = "default"
            }
        }

        for selector in when {
            let key = "when.\(selector.value.field)"
            let place = selector.location.description
            provenance[key] = provenance[key].map { "\($0), \(place)" } ?? place
        }

        let enabled = self.enabled?.value ?? true
        origin(self.enabled, "enabled", otherwise: "default")
        if let description { provenance["description"] = description.location.description }

        // An override for some nodes only says so: `environments/prod.yaml:4:15 (nodes=edge-*)`.
        for (key, scope) in overrideScopes {
            if let origin = provenance[key] { provenance[key] = "\(origin) (\(scope))" }
        }

        guard errors.isEmpty else { return .failure(ResolveErrors(errors: errors)) }
        let check = CheckDefinition(
            name: name.value, category: category, probe: descriptor.kind, target: target, interval: interval,
            timeout: timeout, splay: splay, jitter: jitter, thresholds: thresholds, params: params,
            when: when.map(\.value), enabled: enabled, location: name.location,
            description: description?.value ?? "")
        return .success(EffectiveCheck(check: check, provenance: provenance))
    }
}

/// The problems that keep one check from resolving.
struct ResolveErrors: Error {
    var errors: [CatalogueError]
}
