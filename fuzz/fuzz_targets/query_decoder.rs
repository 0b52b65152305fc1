//! The query decoder: a form body becomes a parameter tree (`Node`), and every implemented
//! operation's generated decoder reads its request from it. Whatever the bytes, this must end in a
//! value or a decode error, never a panic.

#![no_main]

use ec2_protocol::{Node, Request, IMPLEMENTED_OPERATIONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the operation the rest is decoded as; an `Action` parameter, when there
    // is one, is tried too, as the server does.
    let Some((&pick, form)) = data.split_first() else { return };
    let node = Node::from_pairs(Node::parse_form(form));
    let op = IMPLEMENTED_OPERATIONS[usize::from(pick) % IMPLEMENTED_OPERATIONS.len()];
    if let Some(Ok(request)) = Request::decode(op, &node) {
        assert_eq!(request.action(), op);
    }
    if let Some(action) = node.get("Action") {
        let _ = Request::decode(action, &node);
    }
});
