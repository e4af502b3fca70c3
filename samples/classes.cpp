/*
 * classes.cpp — a process whose heap holds C++ objects of known dynamic
 * classes, for tests/t4100-cxx.sh: every object with virtual functions
 * must get its dynamic class from its vtable, whatever pointer reaches it
 * (a Shape * holding a Square), with DWARF and without (the test runs a
 * copy of this binary with its debug info stripped).
 *
 *   classes REPORT
 *
 * The heap: an array of Shape * (Circle, Rect, Square — single inheritance,
 * two levels), a list of zoo::Animal linked through base pointers (Dog,
 * Cat, in a namespace), template classes (Box<int>, ns::Holder<zoo::Dog>),
 * and a plain struct without virtual functions reached from a global.
 *
 * REPORT gets
 *   pid N
 *   block 0xADDR CLASS       an object and its dynamic class, as the
 *                            vtable symbol demangles ("zoo::Dog", "Box<int>")
 *   plain 0xADDR TYPE        an object without a vtable, typed only by DWARF
 *   ready
 * and then it blocks until killed.  Nothing allocates after the report starts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define REPORT_BUF_SIZE 16384
#include "report.h"

struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
    int id = 0;
};

struct Circle : Shape {
    double r = 1.0;
    double area() const override { return 3.14159 * r * r; }
};

struct Rect : Shape {
    double w = 2.0, h = 3.0;
    double area() const override { return w * h; }
};

struct Square : Rect {
    long corner = 4;
    double area() const override { return w * w; }
};

namespace zoo {
class Animal {
  public:
    virtual ~Animal() {}
    virtual const char *sound() const = 0;
    Animal *next = nullptr;
};
class Dog : public Animal {
  public:
    const char *sound() const override { return "woof"; }
    int tricks = 3;
};
class Cat : public Animal {
  public:
    const char *sound() const override { return "meow"; }
    double lives = 9;
};
} // namespace zoo

template <typename T> struct Box {
    virtual ~Box() {}
    virtual T get() const { return value; }
    T value{};
};

namespace ns {
template <typename T> struct Holder {
    virtual ~Holder() {}
    T *held = nullptr;
};
} // namespace ns

struct Plain {
    long count;
    Shape *first;
};

Shape **g_shapes;
zoo::Animal *g_animals;
Box<int> *g_box;
ns::Holder<zoo::Dog> *g_holder;
Plain *g_plain;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: classes REPORT\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    report_line("pid %d\n", (int)getpid());
    const int nshapes = 6;
    g_shapes = static_cast<Shape **>(calloc(nshapes, sizeof(Shape *)));
    for (int i = 0; i < nshapes; i++) {
        Shape *s;
        const char *cls;
        switch (i % 3) {
        case 0: s = new Circle; cls = "Circle"; break;
        case 1: s = new Rect; cls = "Rect"; break;
        default: s = new Square; cls = "Square"; break;
        }
        s->id = i;
        g_shapes[i] = s;
        report_line("block %p %s\n", static_cast<void *>(s), cls);
    }
    for (int i = 0; i < 5; i++) {
        zoo::Animal *a;
        if (i % 2) {
            a = new zoo::Cat;
            report_line("block %p zoo::Cat\n", static_cast<void *>(a));
        } else {
            a = new zoo::Dog;
            report_line("block %p zoo::Dog\n", static_cast<void *>(a));
        }
        a->next = g_animals;
        g_animals = a;
    }
    g_box = new Box<int>;
    g_box->value = 42;
    report_line("block %p Box<int>\n", static_cast<void *>(g_box));
    g_holder = new ns::Holder<zoo::Dog>;
    g_holder->held = new zoo::Dog;
    report_line("block %p ns::Holder<zoo::Dog>\n", static_cast<void *>(g_holder));
    report_line("block %p zoo::Dog\n", static_cast<void *>(g_holder->held));
    g_plain = new Plain{7, g_shapes[2]};
    report_line("plain %p Plain\n", static_cast<void *>(g_plain));
    report_line("ready\n");
    if (report_flush(fd))
        return 1;
    for (;;)
        pause();
}
