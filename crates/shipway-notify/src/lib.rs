//! Notifications for shipway, configured in Argo CD notifications' vocabulary: services,
//! templates, triggers and subscriptions from a file shaped like the
//! `argocd-notifications-cm` `ConfigMap` (or the `ConfigMap` and the
//! `argocd-notifications-secret` Secret themselves), delivered through a durable queue.
//!
//! The CLI (`sync`, `release`, `rollback --notify`, `notify test`) and the controller
//! (`serve --notify-config`) both build an [`Event`], ask the [`Config`] for the app's
//! [`Destination`]s, and hand both to [`Notifier::notify`], which evaluates the triggers,
//! renders the [`template`]s and queues one row per destination; [`Notifier::run`] (serve)
//! or [`Notifier::drain`] (CLI) delivers them.
//!
//! ```
//! use shipway_notify::{AppInfo, Config, Event, EventKind, Secrets};
//! let data = serde_json::json!({
//!     "service.webhook.ci": "url: http://127.0.0.1:9/hook\nsecret: $hook-secret\n",
//! });
//! let mut secrets = Secrets::none();
//! secrets.insert("hook-secret", "s3cret");
//! let config = Config::from_data(&data, &secrets, "notify.yaml").unwrap();
//! let mut app = AppInfo { name: "shop".into(), ..AppInfo::default() };
//! app.annotations.insert(
//!     "notifications.argoproj.io/subscribe.on-sync-failed.ci".into(),
//!     String::new(),
//! );
//! let destinations = config.destinations(&app).unwrap();
//! assert_eq!(destinations[0].trigger, "on-sync-failed");
//! let mut event = Event::new(EventKind::Sync, app, "4f2a9c1");
//! event.phase = Some("Failed".into());
//! assert_eq!(config.trigger("on-sync-failed").unwrap()[0].when.is_true(&event.data(&config.context)), true);
//! ```

mod catalog;
pub mod config;
pub mod event;
pub mod expr;
mod notifier;
pub mod queue;
pub mod service;
pub mod template;

pub use config::{Config, ConfigError, Destination, Secrets, Service, ServiceKind};
pub use event::{
    AppInfo, Commit, Event, EventKind, FailedObject, ImageChange, application_metadata,
    object_metadata,
};
pub use notifier::{Delivery, Drained, Notifier, Queued, StartError};
pub use template::TemplateError;
