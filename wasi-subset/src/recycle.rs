//! Recycled instances: a guest that is done hands its instance back to its
//! [`Program`], and the next guest resets it to the state of a fresh one
//! instead of instantiating the module again.
//!
//! Instantiating costs far more than the reset: wasmi sets up every function,
//! table entry and export of the module for each new instance (about half of
//! a short call), while the reset only writes what a guest can change. A
//! guest cannot tell a reset instance from a fresh one, because everything a
//! wasm instance can change is put back:
//!
//! - **memory**: every byte is written from the image a fresh instance has
//!   (data segments, and for a warm program the state after its init); an
//!   instance whose memory grew is not taken back (wasm memory cannot shrink);
//! - **mutable globals**: set to their fresh values (the module exports each
//!   of them under a name starting with a NUL, as for warm starts);
//! - **tables**: copied from a copy taken before any guest code ran (an
//!   instance whose tables grew is not taken back);
//! - **segments**: a module with passive data or element segments (whose
//!   `data.drop`/`elem.drop` would be remembered) is never recycled; active
//!   segments are dropped by instantiation itself, in every instance alike;
//! - **the store**: fuel, the memory limiter's counts and the WASI context
//!   (pipes, clock, exit status) are those of the new guest.
//!
//! Modules that cannot be reset this way (more memories or none exported as
//! `memory`, mutable globals holding references) get fresh instances as
//! before. The pool is small: at most [`IDLE_MAX`] instances and
//! [`IDLE_BYTES_MAX`] of their memory and tables per program; past that, a
//! finished instance is dropped. An instance larger than that by itself is
//! never pooled, so nothing is captured or copied for it either.

use crate::{driver::GuestState, module::EXPORT_TABLE, warm::Globals};
use std::sync::{Mutex, OnceLock, PoisonError};
use wasmi::{Global, Instance, Memory, Ref, Store, Table, Val};

/// Most idle instances a program keeps, by default
/// ([`Program::with_idle_instances`](crate::Program::with_idle_instances)).
pub const IDLE_MAX: usize = 4;

/// Most bytes the idle instances of a program hold together: linear memory
/// and tables, counted as for the memory limit (a table element as
/// [`TABLE_ELEMENT_BYTES`](crate::TABLE_ELEMENT_BYTES), which covers the
/// table and the copy its reset is made from).
pub const IDLE_BYTES_MAX: u64 = 32 << 20;

/// The prefix of the names under which a recyclable module exports its
/// tables (then the table's index).
const TABLE_EXPORT: &str = "\0wasplug:table:";

/// The idle instances of one program, and what a fresh one looks like.
#[derive(Debug)]
pub(crate) struct Pool {
    /// Export names of the mutable globals, in the order of `Fresh::globals`.
    globals: Vec<String>,
    /// Export names of the tables.
    tables: Vec<String>,
    /// Captured from the first instance, before any guest code ran.
    fresh: OnceLock<Fresh>,
    idle: Mutex<Vec<Idle>>,
    /// Most idle instances kept.
    max: usize,
}

/// The state of a fresh instance.
struct Fresh {
    memory: Box<[u8]>,
    globals: Vec<Val>,
    tables: Vec<u64>,
    /// The limiter's counts: linear memory and table bytes.
    counted: (u64, u64),
}

impl core::fmt::Debug for Fresh {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fresh")
            .field("memory", &self.memory.len())
            .field("globals", &self.globals.len())
            .field("tables", &self.tables)
            .finish()
    }
}

/// An instance waiting in the pool, with its store.
pub(crate) struct Idle {
    pub(crate) store: Store<GuestState>,
    pub(crate) handles: Handles,
}

impl core::fmt::Debug for Idle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Idle").finish_non_exhaustive()
    }
}

/// What the reset writes to, in one instance's store.
#[derive(Debug, Clone)]
pub(crate) struct Handles {
    pub(crate) instance: Instance,
    pub(crate) memory: Memory,
    globals: Vec<Global>,
    /// Each table, and its copy taken before any guest code ran.
    tables: Vec<(Table, Table)>,
}

impl Pool {
    /// The pool of a module with these mutable globals and `tables` tables,
    /// when its instances can be reset: none when a global holds references.
    pub(crate) fn new(globals: &Globals, tables: u32) -> Option<Self> {
        if globals.references() > 0 {
            return None;
        }
        Some(Self {
            globals: globals.names().map(str::to_owned).collect(),
            tables: (0..tables).map(|i| format!("{TABLE_EXPORT}{i}")).collect(),
            fresh: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
            max: IDLE_MAX,
        })
    }

    /// An empty pool for the same module (for a program whose guests start
    /// from another state), keeping at most `max` idle instances.
    pub(crate) fn renewed(&self, max: usize) -> Self {
        Self {
            globals: self.globals.clone(),
            tables: self.tables.clone(),
            fresh: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
            max,
        }
    }

    /// Most idle instances kept.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// The exports a recyclable module needs besides its globals': (name,
    /// kind, index) of each table.
    pub(crate) fn table_exports(&self) -> impl Iterator<Item = (String, u8, u32)> + '_ {
        (0u32..)
            .zip(&self.tables)
            .map(|(index, name)| (name.clone(), EXPORT_TABLE, index))
    }

    /// Takes an idle instance, if there is one and a guest with a memory
    /// limit of `limit` may have it (a fresh instance breaking the limit
    /// must fail as one).
    pub(crate) fn take(&self, limit: Option<u64>) -> Option<Idle> {
        let fresh = self.fresh.get()?;
        let needed = fresh.counted.0.saturating_add(fresh.counted.1);
        if limit.is_some_and(|limit| needed > limit) {
            return None;
        }
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Looks up what the reset needs in a fresh `instance`, copies its
    /// tables, and, for the first instance, captures its state. `None` when
    /// the instance cannot be recycled.
    pub(crate) fn adopt(
        &self,
        store: &mut Store<GuestState>,
        instance: Instance,
    ) -> Option<Handles> {
        let memory = instance.get_memory(&*store, "memory")?;
        // Too large for the pool: it would never be put back, so neither
        // its fresh state nor copies of its tables are worth keeping.
        if store.data().counted() > IDLE_BYTES_MAX {
            return None;
        }
        let globals = self
            .globals
            .iter()
            .map(|name| instance.get_global(&*store, name))
            .collect::<Option<Vec<_>>>()?;
        let live = self
            .tables
            .iter()
            .map(|name| instance.get_table(&*store, name))
            .collect::<Option<Vec<_>>>()?;
        // The copies are the host's, not the guest's: they do not count.
        let (limit, counted) = store.data_mut().lift_limit();
        let mut tables = Vec::with_capacity(live.len());
        for table in live {
            let ty = table.ty(&*store);
            let size = table.size(&*store);
            let copy = Table::new(&mut *store, ty, Ref::null(ty.element()))
                .ok()
                .filter(|copy| Table::copy(&mut *store, copy, 0, &table, 0, size).is_ok());
            match copy {
                Some(copy) => tables.push((table, copy)),
                None => break,
            }
        }
        store.data_mut().restore_limit(limit, counted);
        if tables.len() < self.tables.len() {
            return None;
        }
        let handles = Handles {
            instance,
            memory,
            globals,
            tables,
        };
        self.fresh.get_or_init(|| Fresh {
            memory: memory.data(&*store).into(),
            globals: handles.globals.iter().map(|g| g.get(&*store)).collect(),
            tables: handles
                .tables
                .iter()
                .map(|(t, _)| t.size(&*store))
                .collect(),
            counted,
        });
        Some(handles)
    }

    /// Puts an instance a guest is done with back in the pool, unless its
    /// memory or tables grew or the pool is full: then it is dropped.
    pub(crate) fn put(&self, store: Store<GuestState>, handles: Handles) {
        let Some(fresh) = self.fresh.get() else {
            return;
        };
        let memory = handles.memory.data_size(&store) as u64;
        let same_size = memory == fresh.memory.len() as u64
            && handles
                .tables
                .iter()
                .zip(&fresh.tables)
                .all(|((table, _), size)| table.size(&store) == *size);
        if !same_size {
            return;
        }
        // Memory and tables as the limiter counted them in a fresh instance,
        // which this one matches.
        let bytes = fresh.counted.0.saturating_add(fresh.counted.1);
        let room = usize::try_from(IDLE_BYTES_MAX / bytes.max(1))
            .unwrap_or(usize::MAX)
            .min(self.max);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < room {
            idle.push(Idle { store, handles });
        }
    }

    /// Brings a recycled instance back to the state of a fresh one.
    ///
    /// # Errors
    /// When the instance does not match what was captured (it cannot, as
    /// [`Pool::put`] checks): the guest then ends with it.
    pub(crate) fn reset(
        &self,
        store: &mut Store<GuestState>,
        handles: &Handles,
    ) -> Result<(), wasmi::Error> {
        let fresh = self
            .fresh
            .get()
            .ok_or_else(|| wasmi::Error::new("a recycled instance without its fresh state"))?;
        let misfit = || wasmi::Error::new("a recycled instance that does not fit its program");
        let data = handles.memory.data_mut(&mut *store);
        if data.len() != fresh.memory.len() {
            return Err(misfit());
        }
        data.copy_from_slice(&fresh.memory);
        for (global, value) in handles.globals.iter().zip(&fresh.globals) {
            global.set(&mut *store, value.clone())?;
        }
        for ((table, copy), size) in handles.tables.iter().zip(&fresh.tables) {
            Table::copy(&mut *store, table, 0, copy, 0, *size).map_err(|_| misfit())?;
        }
        let limit = store.data_mut().lift_limit().0;
        store.data_mut().restore_limit(limit, fresh.counted);
        Ok(())
    }

    /// Idle instances right now.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use crate::{End, Guest, GuestLimits, Program, Step, WasiCtx};

    /// Exits with 1000 * g + 100 * mem[100] + 10 * (table[1] is $b) +
    /// memory pages, after writing all three, growing the table's use
    /// (`table.set`) and bumping a start-function counter kept in mem[200].
    const STATEFUL: &str = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 300) "\07")
      (global $g (mut i32) (i32.const 1))
      (table 2 funcref)
      (elem (i32.const 0) $a $a)
      (elem declare func $b)
      (func $a (result i32) (i32.const 0))
      (func $b (result i32) (i32.const 1))
      (func $s (i32.store (i32.const 200) (i32.add (i32.load (i32.const 200)) (i32.const 1))))
      (start $s)
      (type $t (func (result i32)))
      (func (export "_start")
        (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (call $exit (i32.add
          (i32.add (i32.mul (global.get $g) (i32.const 1000))
                   (i32.mul (i32.load (i32.const 100)) (i32.const 100)))
          (i32.add
            (i32.add (i32.mul (call_indirect (type $t) (i32.const 1)) (i32.const 10))
                     (i32.load (i32.const 200)))
            (i32.mul (i32.load8_u (i32.const 300)) (i32.const 10000)))))
        (table.set (i32.const 1) (ref.func $b))))"#;

    fn engine() -> wasmi::Engine {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        wasmi::Engine::new(&config)
    }

    fn run(guest: &mut Guest) -> End {
        loop {
            if let Step::End(end) = guest.step() {
                return end;
            }
        }
    }

    fn guest(program: &Program) -> Guest {
        Guest::new(program, WasiCtx::builder().build(), GuestLimits::default())
    }

    #[test]
    fn a_recycled_instance_starts_as_a_fresh_one() {
        let program = Program::new(&engine(), STATEFUL.as_bytes()).unwrap();
        let pool = program.pool().expect("a recyclable module");
        // g 1 + 1, mem[100] 0 + 1, table[1] still $a, the start function
        // ran once, mem[300] 7 from its data segment: every time.
        let fresh = End::Exit(72_101);
        let mut first = guest(&program);
        assert!(!first.is_recycled());
        assert_eq!(run(&mut first), fresh);
        drop(first);
        assert_eq!(pool.idle_count(), 1);
        for _ in 0..3 {
            let mut next = guest(&program);
            assert!(next.is_recycled());
            assert_eq!(pool.idle_count(), 0);
            assert_eq!(run(&mut next), fresh);
        }
    }

    #[test]
    fn the_table_write_of_one_guest_is_not_seen_by_the_next() {
        // The first guest's table.set runs after its exit is decided; a
        // guest that exits at the end sees its own write only.
        let wat = r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (table 2 funcref)
          (elem (i32.const 0) $a $a)
          (elem declare func $b)
          (type $t (func (result i32)))
          (func $a (result i32) (i32.const 1))
          (func $b (result i32) (i32.const 2))
          (func (export "_start")
            (local $before i32)
            (local.set $before (call_indirect (type $t) (i32.const 1)))
            (table.set (i32.const 1) (ref.func $b))
            (call $exit (i32.add (i32.mul (local.get $before) (i32.const 10))
                                 (call_indirect (type $t) (i32.const 1))))))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        for _ in 0..3 {
            assert_eq!(run(&mut guest(&program)), End::Exit(12));
        }
        assert_eq!(program.pool().unwrap().idle_count(), 1);
    }

    #[test]
    fn an_instance_whose_memory_grew_is_dropped() {
        let wat = r#"(module (memory (export "memory") 1)
          (func (export "_start") (drop (memory.grow (i32.const 1)))))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        let mut first = guest(&program);
        assert_eq!(run(&mut first), End::Exit(0));
        drop(first);
        assert_eq!(program.pool().unwrap().idle_count(), 0);
    }

    #[test]
    fn a_guest_dropped_mid_run_hands_back_an_instance_that_is_reset() {
        // Exits with what an earlier guest left (mem[8] + g), else writes
        // both and spins.
        let wat = r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (global $g (mut i32) (i32.const 0))
          (func (export "_start")
            (if (i32.or (i32.load (i32.const 8)) (global.get $g))
              (then (call $exit (i32.add (i32.load (i32.const 8)) (global.get $g)))))
            (i32.store (i32.const 8) (i32.const 5))
            (global.set $g (i32.const 9))
            (loop (br 0))))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        let limits = GuestLimits::default().with_fuel_slice(1_000);
        for round in 0..3 {
            let mut spinning = Guest::new(&program, WasiCtx::builder().build(), limits);
            assert_eq!(spinning.is_recycled(), round > 0);
            assert_eq!(spinning.step(), Step::Continue);
            assert_eq!(spinning.step(), Step::Continue);
            drop(spinning);
            assert_eq!(program.pool().unwrap().idle_count(), 1);
        }
    }

    #[test]
    fn modules_whose_instances_cannot_be_reset_get_fresh_ones() {
        for wat in [
            // A passive data segment: data.drop would be remembered.
            r#"(module (memory (export "memory") 1) (data "x")
               (func (export "_start") (data.drop 0)))"#,
            // A passive element segment.
            r#"(module (memory (export "memory") 1) (table 1 funcref) (elem func $f)
               (func $f) (func (export "_start") (elem.drop 0)))"#,
            // No memory exported as `memory`.
            r#"(module (memory 1) (func (export "_start")))"#,
            // A mutable reference global.
            r#"(module (memory (export "memory") 1) (global (mut funcref) (ref.null func))
               (func (export "_start")))"#,
        ] {
            let program = Program::new(&engine(), wat.as_bytes()).unwrap();
            assert!(program.pool().is_none(), "{wat}");
            assert_eq!(run(&mut guest(&program)), End::Exit(0));
        }
    }

    #[test]
    fn a_lower_memory_limit_than_the_fresh_instance_needs_still_fails() {
        let program = Program::new(&engine(), STATEFUL.as_bytes()).unwrap();
        drop(run(&mut guest(&program)));
        let small = GuestLimits::default().with_memory(Some(1_000));
        let mut guest = Guest::new(&program, WasiCtx::builder().build(), small);
        assert!(!guest.is_recycled());
        assert_eq!(run(&mut guest), End::MemoryLimit { limit: 1_000 });
    }

    /// Runs `count` guests of `program` at once, to their end, then drops
    /// them all.
    fn run_at_once(program: &Program, count: usize) {
        let mut guests: Vec<Guest> = (0..count).map(|_| guest(program)).collect();
        for guest in &mut guests {
            assert_eq!(run(guest), End::Exit(0));
        }
    }

    #[test]
    fn tables_count_toward_the_bytes_of_the_pool() {
        // 1,100,000 elements count 8.8 MB: three such instances fit in the
        // 32 MiB of the pool, not four.
        let wat = r#"(module (memory (export "memory") 1) (table 1100000 funcref)
          (func (export "_start")))"#;
        let program = Program::new(&engine(), wat.as_bytes()).unwrap();
        run_at_once(&program, super::IDLE_MAX);
        assert_eq!(program.pool().unwrap().idle_count(), 3);
    }

    #[test]
    fn an_instance_larger_than_the_pool_leaves_nothing_behind() {
        for wat in [
            // 33 MiB of memory.
            r#"(module (memory (export "memory") 528) (func (export "_start")))"#,
            // 5,000,000 table elements: 40 MB.
            r#"(module (memory (export "memory") 1) (table 5000000 funcref)
               (func (export "_start")))"#,
        ] {
            let program = Program::new(&engine(), wat.as_bytes()).unwrap();
            run_at_once(&program, 2);
            let pool = program.pool().unwrap();
            assert_eq!(pool.idle_count(), 0, "{wat}");
            // No image of a fresh instance is kept for good.
            assert!(pool.fresh.get().is_none(), "{wat}");
        }
    }

    #[test]
    fn the_pool_is_bounded() {
        let program = Program::new(&engine(), STATEFUL.as_bytes()).unwrap();
        let mut guests: Vec<Guest> = (0..super::IDLE_MAX + 3).map(|_| guest(&program)).collect();
        for guest in &mut guests {
            assert_eq!(run(guest), End::Exit(72_101));
        }
        drop(guests);
        assert_eq!(program.pool().unwrap().idle_count(), super::IDLE_MAX);
    }
}
