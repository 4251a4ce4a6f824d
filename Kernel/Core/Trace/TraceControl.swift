// What tracefs's control files accept, checked the way Linux checks it: every
// write is a user's bytes, so anything that is not exactly a number, or names
// no event, is EINVAL and changes nothing.
// Linux: lib/kstrtox.c (kstrtoul_from_user), kernel/trace/trace_events.c
// (ftrace_event_write → ftrace_set_clr_event, __ftrace_set_clr_event_nolock)

public enum TraceControl {
    /// A decimal number with an optional '+' and one trailing newline, as
    /// kstrtoul(base 10) takes it: EINVAL for anything else, ERANGE past 64 bits.
    /// Linux: kstrtoul_from_user()
    public static func parseUnsigned(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> UInt64 {
        var end = bytes.count
        if end > 0 && bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var i = 0
        if i < end && bytes[i] == UInt8(ascii: "+") { i += 1 }
        guard i < end else { throw .EINVAL }
        var value: UInt64 = 0
        while i < end {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { throw .EINVAL }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            if o1 || o2 { throw .ERANGE }
            value = sum
            i += 1
        }
        return value
    }

    /// An enable file's word: 0 or 1, EINVAL otherwise. Linux: event_enable_write()
    public static func parseEnable(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Bool {
        switch try parseUnsigned(bytes) {
        case 0: return false
        case 1: return true
        default: throw .EINVAL
        }
    }

    /// The events one word written to set_event names, and whether it enables
    /// (a leading '!' disables): "sys:event", "sys:*" or "sys:", "*:event",
    /// or a bare word matching a system or an event name. EINVAL when it names
    /// none. Linux: ftrace_set_clr_event()
    public static func selection(_ word: String) throws(Errno) -> (events: [TraceEvent], enable: Bool) {
        var text = Substring(word)
        var enable = true
        if text.hasPrefix("!") {
            enable = false
            text = text.dropFirst()
        }
        var system: Substring? = nil, event: Substring? = nil, match: Substring? = nil
        if let colon = text.firstIndex(of: ":") {
            system = text[..<colon]
            event = text[text.index(after: colon)...]
            if system == "" || system == "*" { system = nil }
            if event == "" || event == "*" { event = nil }
        } else {
            match = text
        }
        guard !text.isEmpty else { throw .EINVAL }
        let chosen = TraceEvent.enableable.filter { e in
            if let match { return e.name == match || e.system == match }
            if let system, e.system != system { return false }
            if let event, e.name != event { return false }
            return true
        }
        guard !chosen.isEmpty else { throw .EINVAL }
        return (chosen, enable)
    }

    /// set_event's text: one "system:event" line per enabled event. Linux: t_show()
    public static func setEventText(enabledMask: UInt32) -> String {
        var text = ""
        for e in TraceEvent.enableable where enabledMask & e.bit != 0 { text += e.system + ":" + e.name + "\n" }
        return text
    }

    /// available_events's text. Linux: show_events()... (t_show over every event)
    public static func availableEventsText() -> String {
        var text = ""
        for e in TraceEvent.enableable { text += e.system + ":" + e.name + "\n" }
        return text
    }

    /// The systems, in first-seen order.
    public static var systems: [String] {
        var names: [String] = []
        for e in TraceEvent.enableable where !names.contains(e.system) { names.append(e.system) }
        return names
    }

    /// A group enable file's text: "0", "1", or "X" when some are on and some
    /// off. Linux: system_enable_read()
    public static func groupEnableText(_ events: [TraceEvent], enabledMask: UInt32) -> String {
        let on = events.filter { enabledMask & $0.bit != 0 }.count
        return on == 0 ? "0\n" : on == events.count ? "1\n" : "X\n"
    }
}
