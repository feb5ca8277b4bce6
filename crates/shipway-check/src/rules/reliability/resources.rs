//! What the resource rules share: walking the containers that take part in scheduling and
//! naming the most specific existing field under `resources`.

use shipway_model::Node;

use crate::workload::PodTemplate;

/// The containers whose resources count for scheduling (init and regular; ephemeral
/// containers cannot set resources): `(report path, container)`.
pub(super) fn scheduled_containers<'n>(
    pod: &PodTemplate<'n>,
) -> impl Iterator<Item = (String, &'n Node)> {
    let spec_path = pod.spec_path;
    ["initContainers", "containers"]
        .into_iter()
        .flat_map(move |list| {
            pod.spec
                .get(list)
                .and_then(Node::as_seq)
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(i, c)| (format!("{spec_path}.{list}[{i}]"), c))
        })
}

/// The report path of `resources.<section>` of a container at `path`, or of the deepest
/// part of it that exists, so the finding lands on a real line.
pub(super) fn section_path(container: &Node, path: &str, section: &str) -> String {
    match container.get("resources") {
        Some(resources) if resources.get(section).is_some() => {
            format!("{path}.resources.{section}")
        }
        Some(_) => format!("{path}.resources"),
        None => path.to_string(),
    }
}
