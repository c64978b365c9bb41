# How Sensu Core 1.9.0 decides whether a handler gets an event, for tests/test_alerting.py.
#
# Rewritten here (not copied) from the Sensu 1.9.0 sources, with the same semantics:
#   lib/sensu/server/filter.rb   filter_event (disabled / flapping / silenced), event_filtered?
#                                (filters in order, the first that filters stops), native_filter
#                                (filtered = negate ? matched : !matched), event_filter (an
#                                unknown filter does not filter)
#   lib/sensu/utilities.rb       attributes_match? (==, nested hashes, to_s, then "eval:"),
#                                eval_attribute_value (a Marshal copy of the value; an error is
#                                no match), process_eval_string, substitute_tokens and
#                                find_attribute_value (":::a.b|default:::" from the event)
#   lib/sensu/sandbox.rb         Kernel.eval in a Proc that sees `value`
#   sensu-extensions-occurrences lib/sensu/extensions/occurrences.rb event_filtered?
#   sensu-extensions-check-dependencies  dependency_events_exist? (an event exists for a
#                                "client/check" or "check" dependency), the Sensu API's
#                                GET /events/CLIENT/CHECK replaced by the `registry` given
#
# stdin: {"settings": {"filters": {...}}, "handler": {...}, "registry": ["client/check", ...],
#         "events": [event, ...]}  (events as Sensu serialises them: action a string)
# stdout: one JSON array, per event {"handled": bool, "filtered_by": name or null, "reason": ...}
require "json"

module Sandbox
  def self.eval(expression, value = nil)
    Proc.new { Kernel.eval(expression) }.call
  end
end

def find_attribute_value(tree, path, default)
  attribute = tree[path.shift]
  if attribute.is_a?(Hash)
    find_attribute_value(attribute, path, default)
  else
    attribute.nil? ? default : attribute
  end
end

def substitute_tokens(tokens, attributes)
  unmatched = []
  text = tokens.gsub(/:::([^:].*?):::/) do
    token, default = $1.to_s.split("|", 2)
    matched = find_attribute_value(attributes, token.split(".").map(&:to_sym), default)
    unmatched << token if matched.nil?
    matched
  end
  [text, unmatched]
end

def eval_attribute_value(object, raw_eval_string, raw_value)
  eval_string, unmatched = substitute_tokens(raw_eval_string.slice(5..-1), object)
  return false unless unmatched.empty?
  begin
    value = Marshal.load(Marshal.dump(raw_value))
    !!Sandbox.eval(eval_string, value)
  rescue StandardError, SyntaxError
    false
  end
end

def attributes_match?(object, match_attributes, object_attributes = nil)
  object_attributes ||= object
  match_attributes.all? do |key, value_one|
    value_two = object_attributes[key]
    if value_one == value_two
      true
    elsif value_one.is_a?(Hash) && value_two.is_a?(Hash)
      attributes_match?(object, value_one, value_two)
    elsif value_one.to_s == value_two.to_s
      true
    elsif value_one.is_a?(String) && value_one.start_with?("eval:")
      eval_attribute_value(object, value_one, value_two)
    else
      false
    end
  end
end

def occurrences_filtered?(event)
  check = event[:check]
  occurrences = check[:occurrences] || 1
  watermark = event[:occurrences_watermark] || 1
  refresh = check[:refresh] || 1800
  return false if event[:action] == :resolve && watermark >= occurrences
  if occurrences.is_a?(Integer) && refresh.is_a?(Integer)
    return true if event[:occurrences] < occurrences
    if event[:occurrences] > occurrences && event[:action] == :create
      count = refresh.fdiv(check[:interval] || 60).to_i
      return true unless count == 0 || (event[:occurrences] - occurrences) % count == 0
    end
  end
  false
end

def dependencies_filtered?(event, registry)
  dependencies = event[:check][:dependencies]
  return false unless dependencies.is_a?(Array)
  dependencies.any? do |dependency|
    check_name, client_name = dependency.split("/").reverse
    registry.include?("#{client_name || event[:client][:name]}/#{check_name}")
  end
end

def filtered_by(settings, handler, registry, event)
  return [nil, "event handling disabled for event"] if event[:check][:handle] == false
  if event[:action] == :flapping && !handler[:handle_flapping]
    return [nil, "handler does not handle action"]
  end
  return [nil, "handler is silenced"] if event[:silenced] && !handler[:handle_silenced]
  Array(handler[:filters] || handler[:filter]).each do |name|
    filters = settings[:filters] || {}
    filtered =
      if filters.key?(name.to_sym)
        filter = filters[name.to_sym]
        matched = attributes_match?(event, filter[:attributes])
        filter[:negate] ? matched : !matched
      elsif name == "occurrences"
        occurrences_filtered?(event)
      elsif name == "check_dependencies"
        dependencies_filtered?(event, registry)
      else
        false
      end
    return [name, "event was filtered"] if filtered
  end
  [nil, nil]
end

input = JSON.parse($stdin.read, symbolize_names: true)
results = input[:events].map do |event|
  event[:action] = event[:action].to_sym if event[:action]
  name, reason = filtered_by(input[:settings], input[:handler], input[:registry] || [], event)
  {handled: name.nil? && reason.nil?, filtered_by: name, reason: reason}
end
puts JSON.generate(results)
