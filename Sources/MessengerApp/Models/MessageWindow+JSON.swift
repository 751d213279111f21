extension MessageWindow: JSONObjectDescribing {
    /// `{"messages":[…],"before","after"}`, the cursors `null` when there is nothing more that way.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.objectArray("messages", self.messages)
        writer.nullable("before", self.before)
        writer.nullable("after", self.after)
    }
}
