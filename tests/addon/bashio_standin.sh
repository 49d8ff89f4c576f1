# shellcheck shell=bash
# Stand-in for the bashio functions the add-on's scripts call. Options come from the JSON file
# in $OPTIONS_JSON; values print the way bashio prints them (true/false, numbers, raw text).
_standin_option() {
    python3 - "$OPTIONS_JSON" "$1" <<'PY'
import json, sys
value = json.load(open(sys.argv[1])).get(sys.argv[2])
print("null" if value is None else value if isinstance(value, str) else json.dumps(value))
PY
}
bashio::config() { _standin_option "$1"; }
bashio::config.has_value() {
    local value
    value=$(_standin_option "$1")
    [[ -n "${value}" && "${value}" != "null" ]]
}
bashio::config.true() { [[ "$(_standin_option "$1")" == "true" ]]; }
bashio::log.info() { :; }
bashio::exit.nok() {
    echo "$*" >&2
    exit 1
}
