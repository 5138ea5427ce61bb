//! Class names: from a labels file (`--labels`), the model's metadata, or COCO's; `class N`
//! for a class none of them names.
//!
//! A labels file is UTF-8 text with one name per line, line `N` (counting from 0) naming class
//! `N`. Surrounding whitespace is trimmed (and `\r\n` line ends read); a blank line keeps its
//! place, leaving that class unnamed (`class N`), so that a name never moves to another class
//! id; blank lines at the end are ignored. A file naming no class at all is an error.

use std::collections::BTreeMap;
use std::path::Path;

use super::coco::COCO_CATEGORY_NAMES;
use crate::detector::DetectError;

/// Names by class id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassNames {
    names: Vec<Option<String>>,
}

impl ClassNames {
    /// No names: every class is `class N`.
    pub fn none() -> Self {
        ClassNames::default()
    }

    /// From names by id (the model's metadata).
    pub fn from_map(names: BTreeMap<u32, String>) -> Self {
        let mut by_id = Vec::new();
        for (id, name) in names {
            let id = id as usize;
            if by_id.len() <= id {
                by_id.resize(id + 1, None);
            }
            by_id[id] = Some(name);
        }
        ClassNames { names: by_id }
    }

    /// COCO's names by category id (91 ids, 80 named).
    pub fn coco_categories() -> Self {
        ClassNames {
            names: COCO_CATEGORY_NAMES
                .iter()
                .map(|name| name.map(str::to_string))
                .collect(),
        }
    }

    /// Parses a labels file's text (see the module's documentation).
    pub fn parse_labels(text: &str) -> Result<Self, String> {
        let mut names: Vec<Option<String>> = text
            .lines()
            .map(str::trim)
            .map(|line| (!line.is_empty()).then(|| line.to_string()))
            .collect();
        while names.last().is_some_and(Option::is_none) {
            names.pop();
        }
        if names.is_empty() {
            return Err("names no class (one name per line, line N naming class N)".into());
        }
        Ok(ClassNames { names })
    }

    /// Reads a labels file.
    pub fn read_labels(path: &Path) -> Result<Self, DetectError> {
        let problem = |problem: String| DetectError::Labels {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|error| problem(error.to_string()))?;
        ClassNames::parse_labels(&text).map_err(problem)
    }

    /// One past the highest class id with a name.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The class's name, or `class N`.
    pub fn label(&self, class_id: u32) -> String {
        match self.names.get(class_id as usize) {
            Some(Some(name)) => name.clone(),
            _ => format!("class {class_id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_file_keeps_ids_at_their_lines() {
        let names = ClassNames::parse_labels("cat\r\n\n  dog  \n\n\n").unwrap();
        assert_eq!(names.len(), 3);
        assert_eq!(names.label(0), "cat");
        assert_eq!(names.label(1), "class 1");
        assert_eq!(names.label(2), "dog");
        assert_eq!(names.label(7), "class 7");
        assert!(ClassNames::parse_labels("\n \n").is_err());
    }

    #[test]
    fn coco_and_sparse_maps_fall_back_to_class_n() {
        let coco = ClassNames::coco_categories();
        assert_eq!(coco.label(1), "person");
        assert_eq!(coco.label(12), "class 12");
        assert_eq!(coco.label(91), "class 91");
        let sparse = ClassNames::from_map(BTreeMap::from([(2, "b".to_string())]));
        assert_eq!(sparse.label(0), "class 0");
        assert_eq!(sparse.label(2), "b");
        assert_eq!(ClassNames::none().label(3), "class 3");
    }
}
