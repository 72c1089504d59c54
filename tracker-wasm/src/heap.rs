//! The module's memory allocator: a few hundred bytes instead of std's dlmalloc (about 4 KB of the module).
//!
//! Where it sits: under every `String`/`Vec` of the tracker on wasm32; host tests use the system allocator.
//!
//! Blocks come in power-of-two sizes; a freed block goes on the free list of its size and is handed out again
//! for the next request of that size. Nothing is ever merged or returned to the browser, so memory stays at the
//! peak of each size — a few kilobytes for a tracker, whose work is small strings made and dropped per event.
//! Reallocation is `GlobalAlloc`'s own (a new block and a copy): a growing `String` doubles into the next size
//! class anyway, so a check for room in the same block would only cost code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::arch::wasm32::{memory_grow, memory_size};
use std::cell::UnsafeCell;
use std::ptr::null_mut;

const PAGE: usize = 65536;

pub struct Heap {
    state: UnsafeCell<State>,
}

struct State {
    /// Head of the free list of blocks of `1 << class` bytes; a free block holds the address of the next.
    free: [usize; 32],
    /// The untouched memory between `top` and `end`.
    top: usize,
    end: usize,
}

// The module runs on the browser's main thread only (no wasm threads), so nothing is ever shared.
unsafe impl Sync for Heap {}

impl Heap {
    pub const fn new() -> Heap {
        Heap { state: UnsafeCell::new(State { free: [0; 32], top: 0, end: 0 }) }
    }
}

/// The size class of a request: blocks of `1 << class` bytes, at least 8 (room for the free-list link), aligned
/// to their size so that any alignment up to it holds.
fn class(layout: &Layout) -> usize {
    let size = layout.size().max(layout.align()).max(8);
    (usize::BITS - (size - 1).leading_zeros()) as usize
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let s = &mut *self.state.get();
        let class = class(&layout);
        let head = s.free[class];
        if head != 0 {
            s.free[class] = *(head as *const usize);
            return head as *mut u8;
        }
        let size = 1 << class;
        if s.end == 0 {
            s.top = memory_size(0) * PAGE;
            s.end = s.top;
        }
        let block = (s.top + size - 1) & !(size - 1);
        if block + size > s.end {
            let pages = (block + size - s.end).div_ceil(PAGE);
            if memory_grow(0, pages) == usize::MAX {
                return null_mut();
            }
            s.end += pages * PAGE;
        }
        s.top = block + size;
        block as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let s = &mut *self.state.get();
        let class = class(&layout);
        *(ptr as *mut usize) = s.free[class];
        s.free[class] = ptr as usize;
    }
}
