//! The demo site: a developer's portfolio like `examples/portfolio` — home, projects, a page for recruiters
//! with a job-description analysis, an about page and a blog — with the titles, `[data-section]` names and
//! links between pages that its visitors would see.

/// One page of the site. `next` says where readers go from here, by weight; whether they go anywhere at all
/// is the visit's decision.
pub struct Page {
    pub path: &'static str,
    pub title: &'static str,
    /// Page group (real-time presence and the `group` dimension).
    pub group: Option<&'static str>,
    /// `[data-section]` elements, top to bottom.
    pub sections: &'static [&'static str],
    /// Median engaged seconds of a reader who stays.
    pub read_secs: f64,
    pub next: &'static [(u32, usize)],
}

pub const HOME: usize = 0;
pub const PROJECTS: usize = 1;
/// The three project pages, in `PROJECT_SLUGS` order.
pub const PROJECT_PAGES: [usize; 3] = [2, 3, 4];
pub const PROJECT_SLUGS: [&str; 3] = ["footfall", "tiles", "ledger"];
pub const JOBS: usize = 5;
pub const ABOUT: usize = 6;
pub const BLOG: usize = 7;
/// Blog posts, newest first.
pub const POSTS: [usize; 4] = [8, 9, 10, 11];

pub const PAGES: &[Page] = &[
    Page {
        path: "/",
        title: "Ada Lovelace — portfolio",
        group: None,
        sections: &["intro", "projects", "writing", "contact"],
        read_secs: 25.0,
        next: &[(30, PROJECTS), (14, 2), (8, 3), (6, 4), (14, ABOUT), (12, BLOG), (8, 8), (8, JOBS)],
    },
    Page {
        path: "/projects",
        title: "Projects — Ada Lovelace",
        group: Some("projects"),
        sections: &["project-list"],
        read_secs: 20.0,
        next: &[(40, 2), (25, 3), (15, 4), (10, ABOUT), (10, HOME)],
    },
    Page {
        path: "/projects/footfall",
        title: "Footfall: privacy-first web analytics — Ada Lovelace",
        group: Some("projects"),
        sections: &["project-detail", "architecture", "results"],
        read_secs: 60.0,
        next: &[(30, PROJECTS), (20, 9), (15, ABOUT), (15, JOBS), (20, HOME)],
    },
    Page {
        path: "/projects/tiles",
        title: "Tiles: a vector map renderer — Ada Lovelace",
        group: Some("projects"),
        sections: &["project-detail", "results"],
        read_secs: 45.0,
        next: &[(40, PROJECTS), (20, ABOUT), (20, HOME), (20, JOBS)],
    },
    Page {
        path: "/projects/ledger",
        title: "Ledger: double-entry accounting in Rust — Ada Lovelace",
        group: Some("projects"),
        sections: &["project-detail", "results"],
        read_secs: 40.0,
        next: &[(40, PROJECTS), (25, ABOUT), (20, HOME), (15, JOBS)],
    },
    Page {
        path: "/jobs",
        title: "Hiring? — Ada Lovelace",
        group: None,
        sections: &["job-analysis", "availability"],
        read_secs: 50.0,
        next: &[(35, PROJECTS), (30, ABOUT), (20, 2), (15, HOME)],
    },
    Page {
        path: "/about",
        title: "About — Ada Lovelace",
        group: None,
        sections: &["story", "values"],
        read_secs: 35.0,
        next: &[(30, PROJECTS), (25, JOBS), (25, BLOG), (20, HOME)],
    },
    Page {
        path: "/blog",
        title: "Writing — Ada Lovelace",
        group: Some("blog"),
        sections: &["posts"],
        read_secs: 15.0,
        next: &[(35, 8), (30, 9), (20, 10), (15, 11)],
    },
    Page {
        path: "/blog/privacy-first-analytics",
        title: "Privacy-first analytics without cookies — Ada Lovelace",
        group: Some("blog"),
        sections: &["article", "comments"],
        read_secs: 110.0,
        next: &[(30, BLOG), (25, 11), (20, 2), (15, HOME), (10, ABOUT)],
    },
    Page {
        path: "/blog/rust-webassembly-tracker",
        title: "A 16 KB tracker in Rust and WebAssembly — Ada Lovelace",
        group: Some("blog"),
        sections: &["article", "comments"],
        read_secs: 140.0,
        next: &[(30, BLOG), (30, 2), (20, HOME), (20, ABOUT)],
    },
    Page {
        path: "/blog/sqlite-or-postgres",
        title: "SQLite or PostgreSQL for analytics? — Ada Lovelace",
        group: Some("blog"),
        sections: &["article", "comments"],
        read_secs: 95.0,
        next: &[(40, BLOG), (20, 8), (20, HOME), (20, PROJECTS)],
    },
    Page {
        path: "/blog/sessions-without-cookies",
        title: "Sessions without cookies — Ada Lovelace",
        group: Some("blog"),
        sections: &["article", "comments"],
        read_secs: 80.0,
        next: &[(40, BLOG), (30, 8), (30, HOME)],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_pages_and_constants_match_paths() {
        for page in PAGES {
            assert!(page.next.iter().all(|(w, to)| *w > 0 && *to < PAGES.len()), "{}", page.path);
            assert!(!page.sections.is_empty());
        }
        for (slug, page) in PROJECT_SLUGS.iter().zip(PROJECT_PAGES) {
            assert_eq!(PAGES[page].path, format!("/projects/{slug}"));
        }
        assert!(POSTS.iter().all(|p| PAGES[*p].path.starts_with("/blog/")));
        assert_eq!((PAGES[JOBS].path, PAGES[ABOUT].path, PAGES[BLOG].path), ("/jobs", "/about", "/blog"));
    }
}
