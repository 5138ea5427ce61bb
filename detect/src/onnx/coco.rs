//! The COCO category names by category id, as COCO-pretrained RF-DETR models index their 91
//! classes: id 1 is person, 90 toothbrush; the eleven ids COCO left unused (0, 12, 26, ...)
//! have no name here and are labelled `class N`.

/// Names indexed by COCO category id; `None` for the unused ids.
pub const COCO_CATEGORY_NAMES: [Option<&str>; 91] = [
    None,
    Some("person"),
    Some("bicycle"),
    Some("car"),
    Some("motorcycle"),
    Some("airplane"),
    Some("bus"),
    Some("train"),
    Some("truck"),
    Some("boat"),
    Some("traffic light"),
    Some("fire hydrant"),
    None,
    Some("stop sign"),
    Some("parking meter"),
    Some("bench"),
    Some("bird"),
    Some("cat"),
    Some("dog"),
    Some("horse"),
    Some("sheep"),
    Some("cow"),
    Some("elephant"),
    Some("bear"),
    Some("zebra"),
    Some("giraffe"),
    None,
    Some("backpack"),
    Some("umbrella"),
    None,
    None,
    Some("handbag"),
    Some("tie"),
    Some("suitcase"),
    Some("frisbee"),
    Some("skis"),
    Some("snowboard"),
    Some("sports ball"),
    Some("kite"),
    Some("baseball bat"),
    Some("baseball glove"),
    Some("skateboard"),
    Some("surfboard"),
    Some("tennis racket"),
    Some("bottle"),
    None,
    Some("wine glass"),
    Some("cup"),
    Some("fork"),
    Some("knife"),
    Some("spoon"),
    Some("bowl"),
    Some("banana"),
    Some("apple"),
    Some("sandwich"),
    Some("orange"),
    Some("broccoli"),
    Some("carrot"),
    Some("hot dog"),
    Some("pizza"),
    Some("donut"),
    Some("cake"),
    Some("chair"),
    Some("couch"),
    Some("potted plant"),
    Some("bed"),
    None,
    Some("dining table"),
    None,
    None,
    Some("toilet"),
    None,
    Some("tv"),
    Some("laptop"),
    Some("mouse"),
    Some("remote"),
    Some("keyboard"),
    Some("cell phone"),
    Some("microwave"),
    Some("oven"),
    Some("toaster"),
    Some("sink"),
    Some("refrigerator"),
    None,
    Some("book"),
    Some("clock"),
    Some("vase"),
    Some("scissors"),
    Some("teddy bear"),
    Some("hair drier"),
    Some("toothbrush"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_names_at_their_category_ids() {
        assert_eq!(COCO_CATEGORY_NAMES.iter().flatten().count(), 80);
        assert_eq!(COCO_CATEGORY_NAMES[1], Some("person"));
        assert_eq!(COCO_CATEGORY_NAMES[13], Some("stop sign"));
        assert_eq!(COCO_CATEGORY_NAMES[44], Some("bottle"));
        assert_eq!(COCO_CATEGORY_NAMES[67], Some("dining table"));
        assert_eq!(COCO_CATEGORY_NAMES[72], Some("tv"));
        assert_eq!(COCO_CATEGORY_NAMES[90], Some("toothbrush"));
        let unused: Vec<usize> = (0..91)
            .filter(|&id| COCO_CATEGORY_NAMES[id].is_none())
            .collect();
        assert_eq!(unused, vec![0, 12, 26, 29, 30, 45, 66, 68, 69, 71, 83]);
    }
}
