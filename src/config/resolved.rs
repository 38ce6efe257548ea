//! The configuration as nginx sees it: includes replaced by the directives of the files they
//! name, each directive knowing its parent block and the context it sits in.

use foldhash::{HashMap, HashSet, HashSetExt};

use super::loader::is_include;
use super::{ConfigTree, LoadProblem, LoadProblemKind};
use crate::directives::{Context, NameId};
use crate::source::FileId;
use crate::syntax::{BlockKind, DirRef, ItemRef, Items as SyntaxItems, Span};

/// A bound on expanded directives: a file included from many places is expanded each time, and
/// a pathological tree could otherwise grow exponentially.
pub const MAX_RESOLVED_NODES: usize = 4_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An optional [`NodeId`] in four bytes (`u32::MAX` for none): two per node, and nodes are
/// most of the resolved tree's memory. Node ids stay far below it (the expansion is bounded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MaybeNode(u32);

impl MaybeNode {
    const NONE: MaybeNode = MaybeNode(u32::MAX);

    fn of(id: Option<NodeId>) -> Self {
        id.map_or(Self::NONE, |n| MaybeNode(n.0))
    }

    fn get(self) -> Option<NodeId> {
        (self != Self::NONE).then_some(NodeId(self.0))
    }
}

/// One directive at one place in the expanded configuration.
#[derive(Debug)]
pub struct RNode<'t> {
    pub file: FileId,
    pub directive: DirRef<'t>,
    /// The directive's name, kept here because rules ask it of every node they look at: its
    /// [`NameId`] number when the built-in table has the name, else `u16::MAX` (read from the
    /// directive then).
    name: u16,
    parent: MaybeNode,
    /// Children in order, includes expanded in place (the `include` node itself stays too):
    /// `child_count` of them from `first_child` in [`ResolvedConfig::child_ids`].
    first_child: u32,
    child_count: u32,
    /// The context this directive is written in.
    pub context: Context,
    /// The `include` directive whose file this directive came from, if any.
    included_from: MaybeNode,
    /// [`RNode::inner_context`], computed once when the tree is built (rules ask it often).
    inner: Context,
}

impl<'t> RNode<'t> {
    #[inline]
    pub fn name(&self) -> &'t str {
        match NameId::str_of_index(self.name) {
            Some(name) => name,
            None => self.directive.name(),
        }
    }

    /// The block this directive is in (`None` at the top level).
    #[inline]
    pub fn parent(&self) -> Option<NodeId> {
        self.parent.get()
    }

    /// The `include` directive whose file this directive came from, if any.
    #[inline]
    pub fn included_from(&self) -> Option<NodeId> {
        self.included_from.get()
    }

    #[inline]
    pub fn arg(&self, i: usize) -> Option<&'t str> {
        self.directive.arg(i)
    }

    /// The context of this directive's block body.
    pub fn inner_context(&self) -> Context {
        self.inner
    }

    fn inner_of(directive: DirRef<'_>, name: &str, context: Context) -> Context {
        if directive.block().map(|b| b.kind()) == Some(BlockKind::Entries) {
            return Context::Entries;
        }
        context.inner(name)
    }
}

#[derive(Debug)]
pub struct ResolvedConfig<'t> {
    pub tree: &'t ConfigTree,
    pub nodes: Vec<RNode<'t>>,
    /// Top-level directives (main context), includes expanded.
    pub top: Vec<NodeId>,
    /// Every block's children, one run per block in id order ([`Self::children`]).
    child_ids: Vec<NodeId>,
    /// Include cycles and expansion limits found while expanding.
    pub problems: Vec<LoadProblem>,
    /// Every node by directive name, in source order: rules look directives up by name, and
    /// scanning all nodes per question would make them quadratic on large trees.
    by_name: foldhash::HashMap<&'t str, Vec<NodeId>>,
    /// `upstream NAME {}` blocks by lowercased name (the first one; nginx refuses duplicates).
    /// nginx compares upstream names without regard to case (`ngx_http_upstream_add` uses
    /// `ngx_strncasecmp`): `proxy_pass http://backend` uses `upstream Backend`.
    upstreams: foldhash::HashMap<String, NodeId>,
    /// The block directives by the context inside them, each list in id order
    /// ([`Self::blocks_with_inner`]: asked by many rules, once a walk of every node each).
    blocks_by_inner: Vec<Vec<NodeId>>,
    /// Children by name of the blocks with many children (http with thousands of servers, the
    /// top level): "the last `proxy_read_timeout` in http" must not scan them all every time.
    wide: foldhash::HashMap<Option<NodeId>, foldhash::HashMap<&'t str, Vec<NodeId>>>,
    /// For each upstream block, the handlers that send requests to it (computed on first use).
    pub(crate) upstream_users:
        std::sync::OnceLock<foldhash::HashMap<NodeId, Vec<(NodeId, super::Family)>>>,
    /// Every address the configuration connects to (computed on first use: five rules and the
    /// probe ask).
    pub(crate) named_addresses: std::sync::OnceLock<Vec<super::NamedAddress>>,
    /// [`Self::passes`] (computed on first use).
    pub(crate) passes: std::sync::OnceLock<Vec<super::Pass>>,
    /// Per node: its outermost ancestor (itself at the top level) and its nesting depth, so
    /// "under http or stream?" and "how deep?" cost no walk up a deeply nested chain.
    outermost: Vec<NodeId>,
    depth: Vec<u32>,
    /// [`Self::effective`]'s answers for blocks nested deeper than [`DEEP`], by name then
    /// block: a walk up thousands of levels per question would make rules quadratic.
    pub(crate) deep_effective: std::sync::Mutex<HashMap<String, HashMap<NodeId, Option<NodeId>>>>,
}

/// Blocks with at least this many children get a by-name index ([`ResolvedConfig::wide`]).
const WIDE: usize = 32;

/// Nesting below which [`ResolvedConfig::effective`] walks up without memoizing.
pub(crate) const DEEP: u32 = 32;

impl<'t> ResolvedConfig<'t> {
    pub fn build(tree: &'t ConfigTree) -> Self {
        // About one directive per 32 bytes of text (pushing into a Vec grown from empty
        // copied it ~20 times on a large tree); a file included at several places yields
        // more, and the Vec grows then as before.
        let text: usize = tree.sources.iter().map(|(_, f)| f.text.len()).sum();
        let mut this = ResolvedConfig {
            tree,
            nodes: Vec::with_capacity(text / 32 + 16),
            top: Vec::new(),
            child_ids: Vec::new(),
            problems: Vec::new(),
            by_name: foldhash::HashMap::default(),
            upstreams: foldhash::HashMap::default(),
            upstream_users: std::sync::OnceLock::new(),
            named_addresses: std::sync::OnceLock::new(),
            passes: std::sync::OnceLock::new(),
            wide: foldhash::HashMap::default(),
            blocks_by_inner: Vec::new(),
            outermost: Vec::new(),
            depth: Vec::new(),
            deep_effective: std::sync::Mutex::new(HashMap::default()),
        };
        // Every node by name, built as the nodes are made (one lookup per node gives its place
        // in the index and its name's id, looked up in the table once per distinct name).
        let mut named = Named::default();
        if let Some(ast) = tree.ast(tree.root) {
            this.expand(tree.root, ast.items(), &mut named);
        }
        this.link_children();
        // Nodes are in pre-order: a parent's entry is there before its children's. One pass
        // gives each node's outermost ancestor and depth, and lists the blocks by context.
        let mut outermost = Vec::with_capacity(this.nodes.len());
        let mut depth = Vec::with_capacity(this.nodes.len());
        let mut by_inner: Vec<Vec<NodeId>> = Vec::new();
        for (i, n) in this.nodes.iter().enumerate() {
            let id = NodeId(i as u32);
            match n.parent() {
                Some(p) => {
                    outermost.push(outermost[p.index()]);
                    depth.push(depth[p.index()] + 1);
                }
                None => {
                    outermost.push(id);
                    depth.push(0);
                }
            }
            if n.directive.has_block() {
                let c = n.inner_context() as usize;
                if by_inner.len() <= c {
                    by_inner.resize_with(c + 1, Vec::new);
                }
                by_inner[c].push(id);
            }
        }
        this.outermost = outermost;
        this.depth = depth;
        this.blocks_by_inner = by_inner;
        let by_name = named.into_map();
        for id in by_name.get("upstream").map_or(&[][..], Vec::as_slice) {
            let n = &this.nodes[id.index()];
            if n.inner_context() == Context::Upstream {
                if let Some(name) = n.directive.args().first() {
                    this.upstreams
                        .entry(name.as_str().to_ascii_lowercase())
                        .or_insert(*id);
                }
            }
        }
        this.by_name = by_name;
        let mut wide = foldhash::HashMap::default();
        let blocks =
            std::iter::once(None).chain((0..this.nodes.len() as u32).map(|i| Some(NodeId(i))));
        for block in blocks {
            let children = this.children(block);
            if children.len() < WIDE {
                continue;
            }
            let mut index: foldhash::HashMap<&'t str, Vec<NodeId>> = foldhash::HashMap::default();
            for c in children {
                index
                    .entry(this.nodes[c.index()].name())
                    .or_default()
                    .push(*c);
            }
            wide.insert(block, index);
        }
        this.wide = wide;
        this
    }

    /// Fills [`Self::child_ids`] from the nodes' parents: counts per block, each block's run
    /// placed after the previous one's, then the children in id order, which is their order in
    /// the block (nodes are numbered in pre-order).
    fn link_children(&mut self) {
        for i in 0..self.nodes.len() {
            if let Some(p) = self.nodes[i].parent() {
                self.nodes[p.index()].child_count += 1;
            }
        }
        let mut next = 0u32;
        for n in &mut self.nodes {
            n.first_child = next;
            next += n.child_count;
            n.child_count = 0;
        }
        let mut ids = vec![NodeId(0); next as usize];
        for i in 0..self.nodes.len() {
            if let Some(p) = self.nodes[i].parent() {
                let parent = &mut self.nodes[p.index()];
                ids[(parent.first_child + parent.child_count) as usize] = NodeId(i as u32);
                parent.child_count += 1;
            }
        }
        self.child_ids = ids;
    }

    /// The http `upstream NAME { }` block with this name.
    pub fn upstream_block(&self, name: &str) -> Option<NodeId> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.upstreams.get(&name.to_ascii_lowercase()).copied()
        } else {
            self.upstreams.get(name).copied()
        }
    }

    /// Every node of directive `name`, in source (expansion) order.
    pub fn nodes_named(&self, name: &str) -> &[NodeId] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Every directive name of the configuration with its nodes in source order ([`Self::nodes_named`]),
    /// the names in no particular order: a question about each name is asked once per name,
    /// not once per node.
    pub fn names(&self) -> impl Iterator<Item = (&'t str, &[NodeId])> + '_ {
        self.by_name
            .iter()
            .map(|(name, ids)| (*name, ids.as_slice()))
    }

    /// Every node whose directive name `wanted` accepts, in id order (the order of a walk over
    /// every node): `wanted` is asked once per distinct name, not once per node.
    pub fn nodes_where(&self, wanted: impl Fn(&str) -> bool) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self
            .names()
            .filter(|(name, _)| wanted(name))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Expands the root file's `items` in place: every directive becomes a node, includes are
    /// replaced by their files' directives (cycles refused with the include chain). Pre-order
    /// with an explicit stack, never recursion: blocks nest up to [`crate::syntax::MAX_DEPTH`]
    /// levels per file and include chains add to that.
    fn expand(&mut self, root: FileId, items: SyntaxItems<'t>, named: &mut Named<'t>) {
        let tree = self.tree;
        // The files being expanded, outermost first, and their positions in that chain.
        let mut chain: Vec<FileId> = vec![root];
        let mut in_chain: HashMap<FileId, usize> = [(root, 0)].into_iter().collect();
        let mut seen_cycles = HashSet::new();
        let mut work = vec![Work::Items(Items {
            file: root,
            items,
            parent: None,
            // A single site file is checked in the context of the include that reads it.
            context: tree.root_context,
            included_from: None,
            leaves_file: true,
        })];
        while let Some(top) = work.last_mut() {
            match top {
                Work::Items(frame) => {
                    let Some(node) = frame.items.next() else {
                        if frame.leaves_file {
                            if let Some(f) = chain.pop() {
                                in_chain.remove(&f);
                            }
                        }
                        work.pop();
                        continue;
                    };
                    let ItemRef::Directive(d) = node else {
                        continue;
                    };
                    let (file, parent, context) = (frame.file, frame.parent, frame.context);
                    if self.nodes.len() >= MAX_RESOLVED_NODES {
                        self.problems.push(LoadProblem {
                            file,
                            span: d.span(),
                            kind: LoadProblemKind::TooLarge,
                        });
                        return;
                    }
                    let id = NodeId(self.nodes.len() as u32);
                    // The parser numbered the name: a known one is read from the table, not
                    // from the file's text.
                    let name_id = d.name_index();
                    let name = NameId::str_of_index(name_id).unwrap_or_else(|| d.name());
                    named.push(name_id, name, id);
                    self.nodes.push(RNode {
                        file,
                        directive: d,
                        name: name_id,
                        parent: MaybeNode::of(parent),
                        first_child: 0,
                        child_count: 0,
                        context,
                        included_from: MaybeNode::of(frame.included_from),
                        inner: RNode::inner_of(d, name, context),
                    });
                    if parent.is_none() {
                        self.top.push(id);
                    }
                    // Runs after the include's files: the original recursion's order.
                    if let Some(block) = d.block() {
                        let inner = self.nodes[id.index()].inner_context();
                        work.push(Work::Items(Items {
                            file,
                            items: block.items(),
                            parent: Some(id),
                            context: inner,
                            included_from: None,
                            leaves_file: false,
                        }));
                    }
                    if is_include(name) {
                        work.push(Work::Include {
                            file,
                            directive: d,
                            id,
                            parent,
                            context,
                            targets: tree.include_targets(file, d.span()).iter(),
                        });
                    }
                }
                Work::Include {
                    file,
                    directive,
                    id,
                    parent,
                    context,
                    targets,
                } => {
                    let Some(&target) = targets.next() else {
                        work.pop();
                        continue;
                    };
                    let (file, d, id, parent, context) =
                        (*file, *directive, *id, *parent, *context);
                    if let Some(&pos) = in_chain.get(&target) {
                        if seen_cycles.insert((file, d.span().start())) {
                            let mut names: Vec<String> = chain[pos..]
                                .iter()
                                .map(|f| tree.sources.get(*f).display.clone())
                                .collect();
                            names.push(tree.sources.get(target).display.clone());
                            self.problems.push(LoadProblem {
                                file,
                                span: d.span(),
                                kind: LoadProblemKind::IncludeCycle { chain: names },
                            });
                        }
                        continue;
                    }
                    let Some(ast) = tree.ast(target) else {
                        continue;
                    };
                    in_chain.insert(target, chain.len());
                    chain.push(target);
                    work.push(Work::Items(Items {
                        file: target,
                        items: ast.items(),
                        parent,
                        context,
                        included_from: Some(id),
                        leaves_file: true,
                    }));
                }
            }
        }
    }

    pub fn node(&self, id: NodeId) -> &RNode<'t> {
        &self.nodes[id.index()]
    }

    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// Every node with its id, in source (expansion) order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &RNode<'t>)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (NodeId(i as u32), n))
    }

    /// Children of a block (or the top level for `None`).
    pub fn children(&self, block: Option<NodeId>) -> &[NodeId] {
        match block {
            Some(id) => {
                let n = &self.nodes[id.index()];
                let start = n.first_child as usize;
                self.child_ids
                    .get(start..start + n.child_count as usize)
                    .unwrap_or_default()
            }
            None => &self.top,
        }
    }

    /// The by-name index of a wide block; a narrow one (most blocks) has none, and is told
    /// apart by its length without hashing.
    pub(crate) fn wide_index(
        &self,
        block: Option<NodeId>,
    ) -> Option<&foldhash::HashMap<&'t str, Vec<NodeId>>> {
        if self.children(block).len() < WIDE {
            return None;
        }
        self.wide.get(&block)
    }

    /// Children of `block` named `name`, in order.
    pub fn children_named<'a>(
        &'a self,
        block: Option<NodeId>,
        name: &'a str,
    ) -> impl Iterator<Item = NodeId> + 'a {
        let indexed = self.wide_index(block).map(|by_name| {
            by_name
                .get(name)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .copied()
        });
        let scanned = match indexed {
            Some(_) => None,
            None => Some(
                self.children(block)
                    .iter()
                    .copied()
                    .filter(move |c| self.nodes[c.index()].name() == name),
            ),
        };
        indexed
            .into_iter()
            .flatten()
            .chain(scanned.into_iter().flatten())
    }

    /// The last child of `block` named `name`: the one nginx keeps for single-value directives.
    /// Constant time for wide blocks (the index), a short scan from the end otherwise.
    pub fn last_child_named(&self, block: Option<NodeId>, name: &str) -> Option<NodeId> {
        if let Some(by_name) = self.wide_index(block) {
            return by_name.get(name).and_then(|ids| ids.last().copied());
        }
        self.children(block)
            .iter()
            .rev()
            .copied()
            .find(|c| self.nodes[c.index()].name() == name)
    }

    /// Children of `block` named any of `names`, in order: through the index for wide blocks,
    /// one scan otherwise.
    pub fn children_named_any(&self, block: Option<NodeId>, names: &[&str]) -> Vec<NodeId> {
        match self.wide_index(block) {
            Some(by_name) => {
                let mut ids: Vec<NodeId> = names
                    .iter()
                    .filter_map(|n| by_name.get(n))
                    .flatten()
                    .copied()
                    .collect();
                // Children are in id order.
                ids.sort_unstable();
                ids
            }
            None => self
                .children(block)
                .iter()
                .copied()
                .filter(|c| names.contains(&self.nodes[c.index()].name()))
                .collect(),
        }
    }

    /// The last child of `block` named any of `names`.
    pub fn last_child_named_any(&self, block: Option<NodeId>, names: &[&str]) -> Option<NodeId> {
        match self.wide_index(block) {
            Some(by_name) => names
                .iter()
                .filter_map(|n| by_name.get(n).and_then(|ids| ids.last().copied()))
                .max(),
            None => self
                .children(block)
                .iter()
                .rev()
                .copied()
                .find(|c| names.contains(&self.nodes[c.index()].name())),
        }
    }

    /// The enclosing blocks from the nearest outwards.
    /// The top-level node `id` is in (`id` itself at the top level): the last of
    /// [`Self::ancestors`], without the walk.
    pub fn outermost(&self, id: NodeId) -> NodeId {
        self.outermost.get(id.index()).copied().unwrap_or(id)
    }

    /// How many blocks enclose `id` (0 at the top level).
    pub fn depth(&self, id: NodeId) -> u32 {
        self.depth.get(id.index()).copied().unwrap_or(0)
    }

    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.nodes[id.index()].parent(), move |p| {
            self.nodes[p.index()].parent()
        })
    }

    /// Nodes whose block has context `ctx` inside (e.g. every `location`, every `server`).
    pub fn blocks_with_inner(&self, ctx: Context) -> impl Iterator<Item = NodeId> + '_ {
        self.blocks_by_inner
            .get(ctx as usize)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
    }

    /// Where the directive is written: file and span of its head.
    pub fn location(&self, id: NodeId) -> (FileId, Span) {
        let n = &self.nodes[id.index()];
        (n.file, n.directive.span())
    }
}

/// Every node by name while the tree is built: by the name's [`NameId`] number when the
/// built-in table has the name (a list per number, no hashing per node), else by the name.
#[derive(Default)]
struct Named<'t> {
    known: Vec<Vec<NodeId>>,
    other: foldhash::HashMap<&'t str, Vec<NodeId>>,
}

impl<'t> Named<'t> {
    /// Adds node `id` of directive `name`, whose [`NameId`] number is `index` (`u16::MAX`:
    /// none).
    fn push(&mut self, index: u16, name: &'t str, id: NodeId) {
        if index == u16::MAX {
            self.other.entry(name).or_default().push(id);
            return;
        }
        let i = usize::from(index);
        if self.known.len() <= i {
            self.known.resize_with(i + 1, Vec::new);
        }
        self.known[i].push(id);
    }

    /// The lists by name.
    fn into_map(self) -> foldhash::HashMap<&'t str, Vec<NodeId>> {
        let mut map = self.other;
        for (i, ids) in self.known.into_iter().enumerate() {
            let name = u16::try_from(i).ok().and_then(NameId::str_of_index);
            if let (Some(name), false) = (name, ids.is_empty()) {
                map.insert(name, ids);
            }
        }
        map
    }
}

/// A list of directives being expanded into nodes under `parent`.
struct Items<'t> {
    file: FileId,
    items: SyntaxItems<'t>,
    parent: Option<NodeId>,
    context: Context,
    included_from: Option<NodeId>,
    /// The list is a whole included (or the root) file: leaving it leaves the include chain.
    leaves_file: bool,
}

/// One step of [`ResolvedConfig::expand`]'s explicit stack.
enum Work<'t> {
    Items(Items<'t>),
    /// An `include` whose files are expanded one after the other, in the including block.
    Include {
        file: FileId,
        directive: DirRef<'t>,
        id: NodeId,
        parent: Option<NodeId>,
        context: Context,
        targets: std::slice::Iter<'t, FileId>,
    },
}

// One node per directive at each place it is read: with snippets included at thousands of
// places these are most of the resolved tree's memory.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<RNode<'static>>() <= 40);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_gives_its_directives_name_known_or_not() {
        // Table names (through their id, one of them quoted), a name the table does not have
        // and one whose backslash stays in it (both read from the directive).
        let tree = super::super::test_tree(
            "events {}\nhttp {\n  server {\n    listen 80;\n    my_own_directive \"X: y\";\n    \
             pro\\xy_pass http://a;\n    \"proxy_read_timeout\" 5s;\n  }\n}\n",
        );
        let cfg = ResolvedConfig::build(&tree);
        let names: Vec<&str> = cfg.nodes.iter().map(RNode::name).collect();
        let written: Vec<&str> = cfg.nodes.iter().map(|n| n.directive.name()).collect();
        assert_eq!(names, written);
        for known in ["events", "http", "server", "listen", "proxy_read_timeout"] {
            assert!(names.contains(&known), "{known}");
            assert!(NameId::of(known).is_some(), "{known}");
        }
        assert!(names.contains(&"my_own_directive"));
        assert!(NameId::of("my_own_directive").is_none());
    }

    #[test]
    fn every_table_name_has_an_id_that_gives_it_back() {
        let table = crate::directives::DirectiveTable::builtin();
        let mut n = 0;
        for name in table.names() {
            let id = NameId::of(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(NameId::str_of_index(id.index()), Some(name));
            n += 1;
        }
        assert!(n > 500, "{n} names");
        // The number a node keeps for a name the table lacks.
        assert_eq!(NameId::str_of_index(u16::MAX), None);
    }
}
