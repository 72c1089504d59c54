//! The vocabulary of the stats query (API.md, Query): metrics, dimensions and filters as closed enums, each
//! knowing its SQL column. Nothing from a request reaches SQL except through these allow-listed names.
use std::sync::Arc;

use chrono_tz::Tz;

use super::range::DateRange;
use crate::store::sites::Site;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    TimeOnPage,
    ScrollDepth,
    Interactions,
    EngagementRate,
    EngagementScore,
    Conversions,
    ConversionRate,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::TimeOnPage,
        Metric::ScrollDepth,
        Metric::Interactions,
        Metric::EngagementRate,
        Metric::EngagementScore,
        Metric::Conversions,
        Metric::ConversionRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
            Metric::ViewsPerVisit => "views_per_visit",
            Metric::BounceRate => "bounce_rate",
            Metric::VisitDuration => "visit_duration",
            Metric::TimeOnPage => "time_on_page",
            Metric::ScrollDepth => "scroll_depth",
            Metric::Interactions => "interactions",
            Metric::EngagementRate => "engagement_rate",
            Metric::EngagementScore => "engagement_score",
            Metric::Conversions => "conversions",
            Metric::ConversionRate => "conversion_rate",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Needs the sessions table (visits and what is defined per visit).
    pub fn needs_sessions(self) -> bool {
        !matches!(self, Metric::Pageviews | Metric::TimeOnPage | Metric::ScrollDepth | Metric::Interactions)
    }

    /// Needs the events table.
    pub fn needs_events(self) -> bool {
        matches!(self, Metric::Pageviews | Metric::ViewsPerVisit | Metric::TimeOnPage | Metric::Interactions)
    }
}

/// Where a dimension's value lives: on each event, on the session (first touch), or in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Event,
    Session,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Page,
    EntryPage,
    ExitPage,
    Hostname,
    Title,
    Referrer,
    Source,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Country,
    Region,
    City,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Device,
    Screen,
    Interaction,
    Section,
    Group,
    Audience,
    VisitorType,
    Hour,
    Day,
    Week,
    Month,
}

/// Screen widths are reported as size classes, like Plausible's, so the list stays short and comparable.
pub const SCREEN_CLASS: &str = "CASE WHEN s.screen IS NULL THEN NULL WHEN s.screen < 576 THEN 'mobile' \
     WHEN s.screen < 992 THEN 'tablet' WHEN s.screen < 1440 THEN 'laptop' ELSE 'desktop' END";

impl Dimension {
    pub const ALL: [Dimension; 31] = [
        Dimension::Page,
        Dimension::EntryPage,
        Dimension::ExitPage,
        Dimension::Hostname,
        Dimension::Title,
        Dimension::Referrer,
        Dimension::Source,
        Dimension::Channel,
        Dimension::UtmSource,
        Dimension::UtmMedium,
        Dimension::UtmCampaign,
        Dimension::UtmTerm,
        Dimension::UtmContent,
        Dimension::Country,
        Dimension::Region,
        Dimension::City,
        Dimension::Browser,
        Dimension::BrowserVersion,
        Dimension::Os,
        Dimension::OsVersion,
        Dimension::Device,
        Dimension::Screen,
        Dimension::Interaction,
        Dimension::Section,
        Dimension::Group,
        Dimension::Audience,
        Dimension::VisitorType,
        Dimension::Hour,
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Page => "page",
            Dimension::EntryPage => "entry_page",
            Dimension::ExitPage => "exit_page",
            Dimension::Hostname => "hostname",
            Dimension::Title => "title",
            Dimension::Referrer => "referrer",
            Dimension::Source => "source",
            Dimension::Channel => "channel",
            Dimension::UtmSource => "utm_source",
            Dimension::UtmMedium => "utm_medium",
            Dimension::UtmCampaign => "utm_campaign",
            Dimension::UtmTerm => "utm_term",
            Dimension::UtmContent => "utm_content",
            Dimension::Country => "country",
            Dimension::Region => "region",
            Dimension::City => "city",
            Dimension::Browser => "browser",
            Dimension::BrowserVersion => "browser_version",
            Dimension::Os => "os",
            Dimension::OsVersion => "os_version",
            Dimension::Device => "device",
            Dimension::Screen => "screen",
            Dimension::Interaction => "interaction",
            Dimension::Section => "section",
            Dimension::Group => "group",
            Dimension::Audience => "audience",
            Dimension::VisitorType => "visitor_type",
            Dimension::Hour => "time:hour",
            Dimension::Day => "time:day",
            Dimension::Week => "time:week",
            Dimension::Month => "time:month",
        }
    }

    pub fn from_name(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn level(self) -> Level {
        match self {
            Dimension::Page
            | Dimension::Hostname
            | Dimension::Title
            | Dimension::BrowserVersion
            | Dimension::OsVersion
            | Dimension::Interaction
            | Dimension::Section
            | Dimension::Group => Level::Event,
            Dimension::Hour | Dimension::Day | Dimension::Week | Dimension::Month => Level::Time,
            _ => Level::Session,
        }
    }

    pub fn is_time(self) -> bool {
        self.level() == Level::Time
    }

    /// The SQL expression of the value: a constant per dimension (`e` = events, `s` = sessions), never request text.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Page => "e.path",
            Dimension::Hostname => "e.hostname",
            Dimension::Title => "e.title",
            Dimension::BrowserVersion => "e.browser_version",
            Dimension::OsVersion => "e.os_version",
            Dimension::Interaction => "e.name",
            Dimension::Group => "e.page_group",
            // Sections are a JSON object per engagement event; they are aggregated in Rust (see `sections`).
            Dimension::Section => "e.sections",
            Dimension::EntryPage => "s.entry_page",
            Dimension::ExitPage => "s.exit_page",
            Dimension::Referrer => "s.referrer_host",
            Dimension::Source => "s.source",
            Dimension::Channel => "s.channel",
            Dimension::UtmSource => "s.utm_source",
            Dimension::UtmMedium => "s.utm_medium",
            Dimension::UtmCampaign => "s.utm_campaign",
            Dimension::UtmTerm => "s.utm_term",
            Dimension::UtmContent => "s.utm_content",
            Dimension::Country => "s.country",
            Dimension::Region => "s.region",
            Dimension::City => "s.city",
            Dimension::Browser => "s.browser",
            Dimension::Os => "s.os",
            Dimension::Device => "s.device",
            Dimension::Screen => SCREEN_CLASS,
            Dimension::Audience => "s.audience",
            Dimension::VisitorType => "CASE WHEN s.user_hash IS NULL THEN 'anonymous' ELSE 'identified' END",
            Dimension::Hour | Dimension::Day | Dimension::Week | Dimension::Month => "",
        }
    }

    /// Event-level dimensions that only exist on one kind of event restrict the events they look at.
    pub fn event_kind(self) -> Option<i16> {
        match self {
            Dimension::Interaction => Some(KIND_INTERACTION),
            Dimension::Section => Some(KIND_ENGAGEMENT),
            _ => None,
        }
    }
}

pub const KIND_PAGEVIEW: i16 = 0;
pub const KIND_ENGAGEMENT: i16 = 1;
pub const KIND_INTERACTION: i16 = 2;
pub const KIND_IDENTIFY: i16 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Is,
    IsNot,
    Contains,
    NotContains,
}

impl FilterOp {
    pub fn name(self) -> &'static str {
        match self {
            FilterOp::Is => "is",
            FilterOp::IsNot => "is_not",
            FilterOp::Contains => "contains",
            FilterOp::NotContains => "not_contains",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub op: FilterOp,
    pub dimension: Dimension,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Metric(Metric),
    Dimension(Dimension),
}

/// A query that passed every check: nothing in it came from the request unvalidated.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub site: Arc<Site>,
    pub metrics: Vec<Metric>,
    pub range: DateRange,
    pub timezone: Tz,
    pub dimensions: Vec<Dimension>,
    pub filters: Vec<Filter>,
    pub order_by: Vec<(SortKey, bool)>,
    pub limit: usize,
    pub offset: usize,
    pub compare: bool,
}

impl StatsQuery {
    pub fn time_dimension(&self) -> Option<Dimension> {
        self.dimensions.iter().copied().find(|d| d.is_time())
    }

    pub fn value_dimensions(&self) -> impl Iterator<Item = Dimension> + '_ {
        self.dimensions.iter().copied().filter(|d| !d.is_time())
    }
}
